// Package shop holds the shop's operations on its database, built on the
// generated queries of package db and the pgkit toolkit: placing an order
// with row locks taken in a fixed order (PlaceOrder), a work queue over
// orders with SKIP LOCKED (ClaimOrders), and the product page fetched in one
// round trip (LoadProductPage). Its refusals are typed (ErrEmptyOrder,
// ErrInvalidQuantity, ErrInsufficientStock, ErrUnknownProduct,
// ErrUnknownCustomer), so callers map them to HTTP codes with errors.Is.
package shop
