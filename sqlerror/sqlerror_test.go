package sqlerror_test

import (
	"errors"
	"io"
	"testing"

	"github.com/conncat/conncat/sqlerror"
)

func TestErrorReadsAsPostgreSQLReportsIt(t *testing.T) {
	src := "SELECT 1;\n  CRÉATE x"
	e := sqlerror.New("42601", 12, "syntax error at or near %q", "CRÉATE").WithHint("Check the spelling.").WithDetail("d")
	if e.Error() != `syntax error at or near "CRÉATE"` {
		t.Errorf("before Locate: %q", e.Error())
	}
	e.Locate(src)
	if e.Line != 2 || e.Column != 3 || e.Error() != `syntax error at or near "CRÉATE" at line 2, column 3` {
		t.Errorf("located: line %d column %d, %q", e.Line, e.Column, e.Error())
	}
	if e.Hint != "Check the spelling." || e.Detail != "d" || e.Code != "42601" {
		t.Errorf("fields: %+v", e)
	}
	// Columns count runes: the É is one.
	if _, col := sqlerror.LineCol(src, len(src)); col != len([]rune("  CRÉATE x"))+1 {
		t.Errorf("column at the end: %d", col)
	}
	for _, pos := range []int{-1, len(src) + 1} {
		if l, c := sqlerror.LineCol(src, pos); l != 0 || c != 0 {
			t.Errorf("LineCol(%d) = %d, %d; want 0, 0 outside the text", pos, l, c)
		}
	}
	wrapped := &sqlerror.Error{Code: "58000", Message: "read failed", Position: -1, Err: io.ErrUnexpectedEOF}
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Error("the cause is not found through Unwrap")
	}
	wrapped.Locate("anything")
	if wrapped.Line != 0 || wrapped.Error() != "read failed" {
		t.Errorf("an error without a position got one: %q", wrapped.Error())
	}
}
