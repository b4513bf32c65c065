package panics

import (
	"strings"
	"testing"
)

func explode() { panic("boom") }

func TestGroupCarriesThePanicToWait(t *testing.T) {
	var g Group
	ran := make(chan struct{}, 2)
	g.Go(func() { ran <- struct{}{} })
	g.Go(func() { ran <- struct{}{}; explode() })
	defer func() {
		c, ok := recover().(*Carried)
		if !ok {
			t.Fatal("Wait did not raise a *Carried")
		}
		if c.Value != "boom" || !strings.Contains(c.Site, "panics.explode") {
			t.Fatalf("carried %+v, want value boom from panics.explode", c)
		}
		if len(ran) != 2 {
			t.Fatalf("Wait returned before every goroutine ran (%d of 2)", len(ran))
		}
		// Carried again (a group inside a group), it keeps its first site.
		if again := Recovered(c); again != c {
			t.Fatal("a carried panic was wrapped twice")
		}
	}()
	g.Wait()
	t.Fatal("Wait returned normally after a panic")
}

func TestGroupWithoutPanic(t *testing.T) {
	var g Group
	n := 0
	g.Go(func() { n++ })
	g.Wait()
	if n != 1 {
		t.Fatal("the goroutine did not run")
	}
}
