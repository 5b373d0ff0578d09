package main

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/shop"
)

//go:embed page.html
var templates embed.FS

// options tune the server; zero fields take the defaults of newServer.
type options struct {
	RequestTimeout time.Duration // per request, database included; default 5s
	Logger         *slog.Logger  // one line per request; default slog.Default()
	MaxBody        int64         // largest request body, 413 beyond; default 64 KiB
}

// withDefaults fills the zero fields.
func (o options) withDefaults() options {
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxBody <= 0 {
		o.MaxBody = maxOrderBody
	}
	return o
}

// observer is the request middleware these options and m make.
func (o options) observer(m *metrics) *observer {
	o = o.withDefaults()
	return &observer{logger: o.Logger, timeout: o.RequestTimeout, maxBody: o.MaxBody, metrics: m}
}

// server is the product-page service: handlers over a pool.
type server struct {
	pool    *pgkit.DB
	q       *db.Queries
	obs     *observer
	metrics *metrics
	page    *template.Template
}

// newServer returns the service over pool. m must be the metrics whose
// tracer the pool was opened with (newMetrics), so that request logs and
// /metrics see the queries.
func newServer(pool *pgkit.DB, m *metrics, opts options) (*server, error) {
	tmpl, err := template.New("page.html").Funcs(template.FuncMap{"cents": cents}).ParseFS(templates, "page.html")
	if err != nil {
		return nil, fmt.Errorf("parse page template: %w", err)
	}
	m.watchPool(pool)
	return &server{pool: pool, q: db.New(pool), obs: opts.observer(m), metrics: m, page: tmpl}, nil
}

// handler routes the service's endpoints through the request middleware.
// A path served for other methods only answers 405 with Allow, one served
// for none 404 (the ServeMux decides; the middleware writes the JSON).
func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	route := func(pattern string, h handlerFunc) { mux.Handle(pattern, s.obs.route(pattern, h)) }
	route("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) error {
		return s.productPage(w, r, r.PathValue("id"), r.URL.Query().Get("customer"))
	})
	route("GET /product/{product_id}/{customer_id}", func(w http.ResponseWriter, r *http.Request) error {
		return s.productPage(w, r, r.PathValue("product_id"), r.PathValue("customer_id"))
	})
	route("GET /products/{id}/reviews", s.reviews)
	route("POST /orders", s.createOrder)
	route("GET /orders/{id}", s.getOrder)
	route("GET /healthz", s.healthz)
	route("GET /{$}", s.htmlPage)
	route("GET /metrics", s.metrics.serve)
	return s.obs.wrap(mux)
}

// pageJSON is the product page as the API returns it.
type pageJSON struct {
	Product     db.Product  `json:"product"`
	Reviews     []db.Review `json:"reviews"`
	NextReviews *string     `json:"next_reviews"`
	Orders      []db.Order  `json:"orders"`
	NextOrders  *string     `json:"next_orders"`
	Fetch       string      `json:"fetch"`
}

func (s *server) productPage(w http.ResponseWriter, r *http.Request, productID, customerID string) error {
	req, err := pageRequest(productID, customerID, r.URL.Query())
	if err != nil {
		return err
	}
	page, err := shop.LoadProductPage(r.Context(), s.pool, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pageJSON{
		Product: page.Product, Reviews: page.Reviews, Orders: page.Orders,
		NextReviews: cursorString(page.NextReviews), NextOrders: cursorString(page.NextOrders),
		Fetch: req.Mode.String(),
	})
}

// reviewsJSON is a page of a product's reviews as the API returns it.
type reviewsJSON struct {
	Reviews []db.Review `json:"reviews"`
	Next    *string     `json:"next"`
	Sort    string      `json:"sort"`
}

func (s *server) reviews(w http.ResponseWriter, r *http.Request) error {
	req, err := reviewsRequest(r.PathValue("id"), r.URL.Query())
	if err != nil {
		return err
	}
	page, err := shop.ListReviews(r.Context(), s.pool, req)
	if err != nil {
		return err
	}
	out := reviewsJSON{Reviews: page.Reviews, Sort: req.Sort.String()}
	if page.Next != nil {
		next := page.Next.String()
		out.Next = &next
	}
	return writeJSON(w, http.StatusOK, out)
}

func cursorString(c *shop.Cursor) *string {
	if c == nil {
		return nil
	}
	s := c.String()
	return &s
}

// orderJSON is an order with its lines.
type orderJSON struct {
	db.Order
	Items []db.OrderItem `json:"items"`
}

func (s *server) createOrder(w http.ResponseWriter, r *http.Request) error {
	customerID, lines, err := decodeOrder(r.Body)
	if err != nil {
		return err
	}
	order, err := shop.PlaceOrder(r.Context(), s.pool, customerID, lines, pgkit.TxOptions{})
	if err != nil {
		return err
	}
	// Committed: from here nothing may fail, or a client would retry an
	// order that exists.
	w.Header().Set("Location", "/orders/"+strconv.FormatInt(order.OrderID, 10))
	return writeJSON(w, http.StatusCreated, order)
}

func (s *server) getOrder(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID("order_id", r.PathValue("id"))
	if err != nil {
		return err
	}
	var out orderJSON
	err = pgkit.Pipeline(r.Context(), s.pool, db.New,
		func(ctx context.Context, q *db.Queries) (err error) {
			out.Order, err = q.OrderGetByID(ctx, id)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			out.Items, err = q.OrderItemListByOrder(ctx, id)
			return err
		},
	)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// htmlPage renders a product with its reviews and a customer's orders:
// /?product=ID&customer=ID, by default the first product and customer.
func (s *server) htmlPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ctx := r.Context()
	product, customer := q.Get("product"), q.Get("customer")
	if product == "" {
		first, err := s.q.ProductList(ctx, db.ProductListParams{Max: 1})
		if err != nil {
			return err
		}
		if len(first) == 0 {
			return &httpError{status: http.StatusNotFound, msg: "no products yet: start with -seed N"}
		}
		product = strconv.FormatInt(first[0].ProductID, 10)
	}
	if customer == "" {
		first, err := s.q.UserList(ctx, db.UserListParams{Max: 1})
		if err != nil {
			return err
		}
		if len(first) > 0 {
			customer = strconv.FormatInt(first[0].UserID, 10)
		}
	}
	req, err := pageRequest(product, customer, q)
	if err != nil {
		return err
	}
	page, err := shop.LoadProductPage(ctx, s.pool, req)
	if err != nil {
		return err
	}
	queries := 2 // the product and its reviews; the orders with a customer
	if req.CustomerID != 0 {
		queries = 3
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return s.page.Execute(w, map[string]any{"Page": page, "CustomerID": req.CustomerID, "FetchedBy": fetchedBy(req.Mode, s.pool.Multiplexing(), queries)})
}

// fetchedBy says how shop.LoadProductPage sent the page's queries in mode,
// on a multiplexing pool or not, for the page's footer.
func fetchedBy(mode shop.FetchMode, multiplexing bool, queries int) string {
	const shared = "multiplexed on shared connections (pgkit.Config.Multiplex)"
	switch {
	case mode == shop.Concurrent && multiplexing:
		return fmt.Sprintf("Fetched with pgkit.Gather: %d queries at once, %s.", queries, shared)
	case mode == shop.Concurrent:
		return fmt.Sprintf("Fetched with pgkit.Gather: %d queries at once, on a connection each.", queries)
	case mode == shop.Sequential && multiplexing:
		return fmt.Sprintf("Fetched with %d sequential calls, %s.", queries, shared)
	case mode == shop.Sequential:
		return fmt.Sprintf("Fetched with %d sequential calls, a round trip each.", queries)
	case mode == shop.Pipelined:
		// Pipeline takes one pooled connection, multiplexing or not.
		return fmt.Sprintf("Fetched with pgkit.Pipeline: %d queries in one round trip on one connection.", queries)
	case mode == shop.OneStatement:
		return "Fetched with one statement (db.ProductPageLoad): the lists as JSON, one round trip."
	}
	// A batch, too, is sent on one pooled connection, multiplexing or not.
	return fmt.Sprintf("Fetched with db.Batch: %d queries in one round trip on one connection.", queries)
}

func cents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

func writeJSON(w http.ResponseWriter, code int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
	return nil
}
