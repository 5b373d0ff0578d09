package shop

import (
	"errors"
	"fmt"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Sentinels of the shop's refusals: errors.Is(err, ErrInsufficientStock)
// and so on hold for the typed errors below, so an HTTP handler maps them to
// status codes without looking at error strings.
var (
	// ErrEmptyOrder: an order with no line.
	ErrEmptyOrder = errors.New("an order needs at least one line")
	// ErrInvalidQuantity: a line's quantity is below 1, or the merged
	// quantity of a product does not fit the schema's integer (see
	// *InvalidQuantityError).
	ErrInvalidQuantity = errors.New("invalid quantity")
	// ErrInsufficientStock: a product has fewer units than ordered (see
	// *InsufficientStockError).
	ErrInsufficientStock = errors.New("insufficient stock")
	// ErrUnknownProduct: an order names a product that does not exist (see
	// *UnknownProductError). It also matches pgerr.ErrNotFound.
	ErrUnknownProduct = errors.New("unknown product")
	// ErrUnknownCustomer: an order names a user that does not exist. It also
	// matches pgerr.ErrNotFound.
	ErrUnknownCustomer = errors.New("unknown customer")
	// ErrInvalidCursor: a page cursor that is not one a page returned.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrPageTooLarge: a page asks for more than MaxPageItems items.
	ErrPageTooLarge = errors.New("page too large")
	// ErrInvalidSort: a list sorted in an order it does not have.
	ErrInvalidSort = errors.New("invalid sort")
)

// Constraint names of the schema that callers match on, through
// pgerr.AsConstraint, e.g. to tell a taken e-mail address from other
// refusals.
const (
	ConstraintUserEmail        = "users_email_lower_key"
	ConstraintUserPKey         = "users_pkey"
	ConstraintProductSKU       = "products_sku_key"
	ConstraintProductStock     = "products_stock_check"
	ConstraintReviewOnePerUser = "reviews_product_id_user_id_key"
	ConstraintReviewRating     = "reviews_rating_check"
	ConstraintOrderUser        = "orders_user_id_fkey"
)

// InvalidQuantityError names the order line whose quantity was refused.
type InvalidQuantityError struct {
	Line      int   // 1-based index in the order's lines; 0 when lines were merged
	ProductID int64 // the product of the line
	Quantity  int64 // the quantity asked for (the merged sum when Line is 0)
	Reason    string
}

// Error names the line, the product and the reason.
func (e *InvalidQuantityError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%v: line %d (product %d): quantity %d: %s", ErrInvalidQuantity, e.Line, e.ProductID, e.Quantity, e.Reason)
	}
	return fmt.Sprintf("%v: product %d: total quantity %d: %s", ErrInvalidQuantity, e.ProductID, e.Quantity, e.Reason)
}

// Is matches ErrInvalidQuantity.
func (e *InvalidQuantityError) Is(target error) bool { return target == ErrInvalidQuantity }

// InsufficientStockError says which product of an order ran short.
type InsufficientStockError struct {
	ProductID int64
	Requested int32
	Available int32
}

// Error names the product and the quantities.
func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("%v for product %d: %d requested, %d available", ErrInsufficientStock, e.ProductID, e.Requested, e.Available)
}

// Is matches ErrInsufficientStock.
func (e *InsufficientStockError) Is(target error) bool { return target == ErrInsufficientStock }

// UnknownProductError names a product an order asked for that does not
// exist.
type UnknownProductError struct{ ProductID int64 }

// Error names the product.
func (e *UnknownProductError) Error() string {
	return fmt.Sprintf("%v %d", ErrUnknownProduct, e.ProductID)
}

// Is matches ErrUnknownProduct and pgerr.ErrNotFound.
func (e *UnknownProductError) Is(target error) bool {
	return target == ErrUnknownProduct || target == pgerr.ErrNotFound
}

// unknownCustomerError is ErrUnknownCustomer for one user.
type unknownCustomerError struct {
	userID int64
	err    error
}

func (e *unknownCustomerError) Error() string {
	return fmt.Sprintf("%v %d", ErrUnknownCustomer, e.userID)
}

func (e *unknownCustomerError) Is(target error) bool {
	return target == ErrUnknownCustomer || target == pgerr.ErrNotFound
}

func (e *unknownCustomerError) Unwrap() error { return e.err }
