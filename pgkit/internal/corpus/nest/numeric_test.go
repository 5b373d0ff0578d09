package nest_test

import (
	"math/big"
	"reflect"

	"github.com/jackc/pgx/v5/pgtype"
)

// normalize returns a deep copy of v with every pgtype.Numeric in its
// lowest terms: trailing zeros of Int moved into Exp, zero as 0e0.
func normalize[T any](v T) T {
	out := reflect.New(reflect.TypeOf(&v).Elem()).Elem()
	copyNorm(out, reflect.ValueOf(v))
	return out.Interface().(T)
}

var numericType = reflect.TypeFor[pgtype.Numeric]()

func copyNorm(dst, src reflect.Value) {
	if src.Type() == numericType {
		n := src.Interface().(pgtype.Numeric)
		if n.Valid && n.Int != nil {
			i, exp := new(big.Int).Set(n.Int), n.Exp
			ten, r := big.NewInt(10), new(big.Int)
			for i.Sign() != 0 {
				q, m := new(big.Int).QuoRem(i, ten, r)
				if m.Sign() != 0 {
					break
				}
				i, exp = q, exp+1
			}
			if i.Sign() == 0 {
				exp = 0
			}
			n.Int, n.Exp = i, exp
		}
		dst.Set(reflect.ValueOf(n))
		return
	}
	switch src.Kind() {
	case reflect.Struct:
		for k := range src.NumField() {
			if dst.Field(k).CanSet() {
				copyNorm(dst.Field(k), src.Field(k))
			}
		}
		if !dst.Field(0).CanSet() { // unexported fields (time.Time): as it is
			dst.Set(src)
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
		for k := range src.Len() {
			copyNorm(dst.Index(k), src.Index(k))
		}
	default:
		dst.Set(src)
	}
}
