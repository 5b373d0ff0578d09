package queries_test

import (
	"os"
	"testing"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }
