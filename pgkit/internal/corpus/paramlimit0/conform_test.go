package paramlimit0_test

import (
	"embed"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/paramlimit0"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// slots is the int4range [lo, hi), or [lo, ∞) when hi is 0.
func slots(lo, hi int32) pgtype.Range[pgtype.Int4] {
	r := pgtype.Range[pgtype.Int4]{Lower: pgtype.Int4{Int32: lo, Valid: true}, LowerType: pgtype.Inclusive, UpperType: pgtype.Unbounded, Valid: true}
	if hi != 0 {
		r.Upper, r.UpperType = pgtype.Int4{Int32: hi, Valid: true}, pgtype.Exclusive
	}
	return r
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*paramlimit0.Queries)(nil), Batch: (*paramlimit0.Batch)(nil), Decoders: paramlimit0.Decoders()}
	conform.Run(t, p, paramlimit0.New, func() []conform.Step[*paramlimit0.Queries] {
		var attic, cellar, hall paramlimit0.Room
		bookings := func(c *conform.C, q *paramlimit0.Queries, room paramlimit0.Room) []pgtype.Range[pgtype.Int4] {
			var out []pgtype.Range[pgtype.Int4]
			for _, b := range conform.Many[paramlimit0.Booking](c, q, "ListBookings", c.Ctx, paramlimit0.ListBookingsParams{RoomID: room.ID}) {
				if b.RoomID != room.ID || b.ID <= 0 {
					c.Errorf("ListBookings of room %d (%s): booking %+v", room.ID, c.Mode, b)
				}
				out = append(out, b.Slots)
			}
			return out
		}
		return []conform.Step[*paramlimit0.Queries]{
			{Name: "create", Run: func(c *conform.C, q *paramlimit0.Queries) error {
				for _, r := range []struct {
					room *paramlimit0.Room
					name string
				}{{&hall, "hall"}, {&attic, "attic"}, {&cellar, "cellar"}} {
					var err error
					*r.room, err = q.CreateRoom(c.Ctx, paramlimit0.CreateRoomParams{Name: r.name})
					conform.NoErr(c, "CreateRoom", err)
					conform.Equal(c, "CreateRoom", *r.room, paramlimit0.Room{ID: r.room.ID, Name: r.name})
				}
				n, err := q.CountRooms(c.Ctx)
				conform.NoErr(c, "CountRooms", err)
				conform.Equal(c, "CountRooms", n, int64(3))
				// [1,3] is stored as [1,4).
				inclusive := slots(1, 3)
				inclusive.UpperType = pgtype.Inclusive
				conform.NoErr(c, "Book", q.Book(c.Ctx, paramlimit0.BookParams{RoomID: hall.ID, Slots: inclusive}))
				conform.NoErr(c, "Book", q.Book(c.Ctx, paramlimit0.BookParams{RoomID: attic.ID, Slots: slots(10, 12)}))
				conform.NoErr(c, "Book", q.Book(c.Ctx, paramlimit0.BookParams{RoomID: hall.ID, Slots: slots(100, 0)}))
				return nil
			}},
			{Name: "exclusion", Run: func(c *conform.C, q *paramlimit0.Queries) error {
				err := q.Book(c.Ctx, paramlimit0.BookParams{RoomID: cellar.ID, Slots: slots(11, 20)})
				conform.WantConstraint(c, err, "Book", pgerr.ConstraintExclusion, "bookings_slots_excl")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *paramlimit0.Queries) error {
				_, err := q.GetRoom(c.Ctx, paramlimit0.GetRoomParams{ID: -1})
				conform.WantNotFound(c, err, "GetRoom")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *paramlimit0.Queries) error {
				got, err := q.GetRoom(c.Ctx, paramlimit0.GetRoomParams{ID: attic.ID})
				conform.NoErr(c, "GetRoom", err)
				conform.Equal(c, "GetRoom", got, attic)
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, q *paramlimit0.Queries) error {
				got := conform.Many[paramlimit0.Room](c, q, "ListRooms", c.Ctx)
				conform.Equal(c, "ListRooms", got, []paramlimit0.Room{attic, cellar, hall})
				conform.Equal(c, "ListBookings of hall", bookings(c, q, hall), []pgtype.Range[pgtype.Int4]{slots(1, 4), slots(100, 0)})
				conform.Equal(c, "ListBookings of attic", bookings(c, q, attic), []pgtype.Range[pgtype.Int4]{slots(10, 12)})
				conform.Equal(c, "ListBookings of cellar", len(bookings(c, q, cellar)), 0)
				return nil
			}},
			{Name: "single column", Read: true, Run: func(c *conform.C, q *paramlimit0.Queries) error {
				got := conform.Many[string](c, q, "ListRoomNamesLike", c.Ctx, paramlimit0.ListRoomNamesLikeParams{Name: "%a%"})
				conform.Equal(c, "ListRoomNamesLike %a%", got, []string{"attic", "cellar", "hall"})
				got = conform.Many[string](c, q, "ListRoomNamesLike", c.Ctx, paramlimit0.ListRoomNamesLikeParams{Name: "%ll"})
				conform.Equal(c, "ListRoomNamesLike %ll", got, []string{"hall"})
				none := conform.Many[string](c, q, "ListRoomNamesLike", c.Ctx, paramlimit0.ListRoomNamesLikeParams{Name: "x%"})
				conform.Equal(c, "ListRoomNamesLike x%", len(none), 0)
				return nil
			}},
			{Name: "execrows", Run: func(c *conform.C, q *paramlimit0.Queries) error {
				n, err := q.CancelBookings(c.Ctx, paramlimit0.CancelBookingsParams{RoomID: hall.ID})
				conform.NoErr(c, "CancelBookings", err)
				conform.Equal(c, "bookings cancelled", n, int64(2))
				n, err = q.CancelBookings(c.Ctx, paramlimit0.CancelBookingsParams{RoomID: hall.ID})
				conform.NoErr(c, "CancelBookings again", err)
				conform.Equal(c, "bookings cancelled again", n, int64(0))
				// The slots are free now: the exclusion no longer refuses them.
				conform.NoErr(c, "Book", q.Book(c.Ctx, paramlimit0.BookParams{RoomID: cellar.ID, Slots: slots(2, 3)}))
				conform.Equal(c, "ListBookings of cellar", bookings(c, q, cellar), []pgtype.Range[pgtype.Int4]{slots(2, 3)})
				return nil
			}},
		}
	})
}
