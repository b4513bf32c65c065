package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/conncat/conncat/internal/sqlstate"
	"github.com/conncat/conncat/sqlerror"
	"github.com/conncat/conncat/sqlparse"
)

// undefinedName marks a 42704 error about a connection or secret that
// does not exist, so that the caller can add "did you mean" from the
// names the role may use (suggestName): a name nobody typed is most often
// a typo of one that exists.
type undefinedName struct {
	kind sqlparse.ObjectKind
	name string
}

func (u *undefinedName) Error() string {
	return fmt.Sprintf("%s %q does not exist", strings.ToLower(string(u.kind)), u.name)
}

// noSuch is 42704 for a connection or secret name that does not exist.
func noSuch(kind sqlparse.ObjectKind, name string, pos int) *sqlerror.Error {
	u := &undefinedName{kind: kind, name: name}
	return &sqlerror.Error{Code: sqlstate.UndefinedObject, Position: pos, Message: u.Error(), Err: u}
}

// maxSuggestionNames bounds the names a suggestion compares: on a larger
// catalog the error comes without one rather than late.
const maxSuggestionNames = 10_000

// suggestName adds to a noSuch error, unless it has a hint, the nearest
// name of the kind that the role may use.
func (c *Executor) suggestName(ctx context.Context, err error) error {
	var e *sqlerror.Error
	var u *undefinedName
	if !errors.As(err, &e) || e.Hint != "" || !errors.As(e.Err, &u) {
		return err
	}
	table := tableOf(u.kind)
	a := c.actor(ctx)
	var names []string
	_ = c.store.View(ctx, func(q Tx) error {
		rows, err := q.QueryContext(ctx, `SELECT name, owner_id, privileges FROM `+table+` LIMIT ?`, maxSuggestionNames+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o := &ownedObject{kind: u.kind}
			if rows.Scan(&o.name, &o.owner, &o.privileges) == nil && a.mayUse(o) {
				names = append(names, o.name)
			}
		}
		return rows.Err()
	})
	if len(names) > maxSuggestionNames {
		return err
	}
	if near := sqlparse.Nearest(u.name, names); near != "" {
		e.Hint = fmt.Sprintf("Did you mean %s %s?", strings.ToLower(string(u.kind)), sqlparse.QuoteIdent(near))
	}
	return err
}
