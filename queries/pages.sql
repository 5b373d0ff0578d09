-- name: ProductPageLoad :one
-- ProductPageLoad is the product page in one statement: the product, its
-- newest reviews and the customer's newest orders (none for customer_id
-- 0), each list exactly as ReviewListByProduct and OrderListByUser page it
-- (keyset before the cursor, newest first, at most max_* items), decoded
-- from json_agg.
-- pgkit:json reviews Review
-- pgkit:json orders Order
-- pgkit:optional before_review_created_at before_review_id
-- pgkit:optional before_order_created_at before_order_id
SELECT sqlc.embed(products),
    coalesce((
        SELECT json_agg(r ORDER BY r.created_at DESC, r.review_id DESC)
        FROM (
            SELECT * FROM reviews
            WHERE reviews.product_id = products.product_id
                AND (reviews.created_at, reviews.review_id) < (@before_review_created_at::timestamptz, @before_review_id::bigint)
            ORDER BY reviews.created_at DESC, reviews.review_id DESC
            LIMIT @max_reviews::integer
        ) r
    ), '[]')::json AS reviews,
    coalesce((
        SELECT json_agg(o ORDER BY o.created_at DESC, o.order_id DESC)
        FROM (
            SELECT * FROM orders
            WHERE @customer_id::bigint <> 0
                AND orders.user_id = @customer_id::bigint
                AND (orders.created_at, orders.order_id) < (@before_order_created_at::timestamptz, @before_order_id::bigint)
            ORDER BY orders.created_at DESC, orders.order_id DESC
            LIMIT @max_orders::integer
        ) o
    ), '[]')::json AS orders
FROM products
WHERE products.product_id = @product_id::bigint;
