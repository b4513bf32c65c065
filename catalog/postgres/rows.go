package postgres

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// bufferedRows are the rows of a read sent in a write transaction's
// pipeline, copied out of the connection so that its later statements
// can be sent while the executor still reads them. The executor's reads
// inside a write are small (a name, a counter, an object's rows); a
// statement's own bounds keep them so.
type bufferedRows struct {
	fields  []pgconn.FieldDescription
	typeMap *pgtype.Map
	data    [][][]byte
	next    int // the row Next moves to
	scanErr error
}

// maxBuffered bounds the bytes of a read buffered from a pipeline; a
// larger result is read again, streamed (see writeTx.QueryContext).
var maxBuffered = 1 << 20

// errTooBig is a pipelined read whose rows would not fit maxBuffered.
var errTooBig = errors.New("postgres: the read's rows are too many to buffer")

// buffer reads the next result of a pipeline, a read, into memory; one
// over maxBuffered is drained and errTooBig.
func buffer(results pgx.BatchResults, conn *pgx.Conn) (*bufferedRows, error) {
	rows, err := results.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := &bufferedRows{fields: rows.FieldDescriptions(), typeMap: conn.TypeMap()}
	size := 0
	for rows.Next() {
		if size > maxBuffered {
			continue // drained: the result is read again, streamed
		}
		raw := rows.RawValues()
		row := make([][]byte, len(raw))
		for i, v := range raw {
			if v != nil {
				row[i] = append([]byte{}, v...)
				size += len(v)
			}
		}
		b.data = append(b.data, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if size > maxBuffered {
		return nil, errTooBig
	}
	return b, nil
}

// Columns names the result's columns.
func (b *bufferedRows) Columns() ([]string, error) {
	names := make([]string, len(b.fields))
	for i, f := range b.fields {
		names[i] = f.Name
	}
	return names, nil
}

// Next moves to the next row, reporting whether there is one.
func (b *bufferedRows) Next() bool {
	if b.scanErr != nil || b.next >= len(b.data) {
		return false
	}
	b.next++
	return true
}

// Scan copies the current row's values into dest, converted as pgx
// converts them (NULL into a sql.Null* or a pointer, text into a string).
func (b *bufferedRows) Scan(dest ...any) error {
	if b.next == 0 || b.next > len(b.data) {
		return errors.New("postgres: Scan called without a row")
	}
	row := b.data[b.next-1]
	if len(dest) != len(row) {
		return fmt.Errorf("postgres: %d destinations for %d columns", len(dest), len(row))
	}
	for i, d := range dest {
		f := b.fields[i]
		if err := b.typeMap.Scan(f.DataTypeOID, f.Format, row[i], d); err != nil {
			b.scanErr = fmt.Errorf("postgres: column %s: %w", f.Name, err)
			return b.scanErr
		}
	}
	return nil
}

// Err is the error that ended the rows early, a failed Scan.
func (b *bufferedRows) Err() error { return b.scanErr }

// Close releases nothing: the rows are already off the connection.
func (b *bufferedRows) Close() error { return nil }

// bufferedRow is the first row of a read, as *sql.Row.
type bufferedRow struct {
	rows *bufferedRows
	err  error
}

// Scan copies the first row into dest: sql.ErrNoRows when there is none.
func (r *bufferedRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if !r.rows.Next() {
		return sql.ErrNoRows
	}
	return r.rows.Scan(dest...)
}
