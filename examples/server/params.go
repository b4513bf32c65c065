package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/conncat/conncat"
)

// PostgreSQL type OIDs a client may name for a parameter (Parse) or that
// the server announces (ParameterDescription, RowDescription).
const (
	oidBool    = 16
	oidBytea   = 17
	oidName    = 19
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidText    = 25
	oidJSON    = 114
	oidFloat4  = 700
	oidFloat8  = 701
	oidUnknown = 705
	oidBpchar  = 1042
	oidVarchar = 1043
	oidNumeric = 1700
)

// pgTypeOf is how a conncat type is announced on the wire.
func pgTypeOf(t conncat.Type) pgType {
	switch t {
	case conncat.TypeInt8:
		return typeInt8
	case conncat.TypeFloat8:
		return typeFloat8
	case conncat.TypeBytea:
		return typeBytea
	case conncat.TypeJSON:
		return typeJSON
	}
	return typeText
}

// description is the prepared statement's StatementDescription, asked of
// the library once: what it takes and returns, without running it.
func (s *session) description(ctx context.Context, p *prepared) (*conncat.StatementDescription, error) {
	if p.desc != nil || p.stmt == nil {
		return p.desc, nil
	}
	d, err := s.srv.cat.DescribeStatement(ctx, p.stmt)
	if err != nil {
		return nil, err
	}
	p.desc = d
	return d, nil
}

// paramOIDs are the parameters' types: what the client named in Parse,
// where it named one, else what the statement's description says.
func (p *prepared) paramOIDs(n int) []uint32 {
	oids := make([]uint32, n)
	for i := range oids {
		switch {
		case i < len(p.clientOIDs) && p.clientOIDs[i] != 0:
			oids[i] = p.clientOIDs[i]
		case p.desc != nil && i < len(p.desc.Params):
			oids[i] = pgTypeOf(p.desc.Params[i]).oid
		default:
			oids[i] = oidText
		}
	}
	return oids
}

// decodeParam reads parameter $n's value as the client sent it, in text
// (format 0) or binary (1) for its type, into what the catalog compares:
// integers as int64, floats as float64, booleans as 0 or 1 (SQLite's), the
// rest as text. A value never appears in an error: only $n does.
func decodeParam(v []byte, format int16, oid uint32, n int) (any, error) {
	if v == nil {
		return nil, nil
	}
	if format == 0 {
		return decodeText(string(v), oid, n)
	}
	return decodeBinary(v, oid, n)
}

func decodeText(v string, oid uint32, n int) (any, error) {
	switch oid {
	case oidInt2, oidInt4, oidInt8:
		i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, badParam(conncat.CodeInvalidTextRepr, n, "invalid input syntax for type bigint")
		}
		return i, nil
	case oidFloat4, oidFloat8, oidNumeric:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, badParam(conncat.CodeInvalidTextRepr, n, "invalid input syntax for type double precision")
		}
		return f, nil
	case oidBool:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "t", "true", "y", "yes", "on", "1":
			return int64(1), nil
		case "f", "false", "n", "no", "off", "0":
			return int64(0), nil
		}
		return nil, badParam(conncat.CodeInvalidTextRepr, n, "invalid input syntax for type boolean")
	}
	return v, nil
}

// binarySizes are the lengths of the fixed-size binary formats.
var binarySizes = map[uint32]int{oidBool: 1, oidInt2: 2, oidInt4: 4, oidInt8: 8, oidFloat4: 4, oidFloat8: 8}

func decodeBinary(v []byte, oid uint32, n int) (any, error) {
	if size, fixed := binarySizes[oid]; fixed && len(v) != size {
		return nil, badParam(conncat.CodeInvalidBinaryRepr, n, "incorrect binary data format")
	}
	switch oid {
	case oidBool:
		return int64(v[0] & 1), nil
	case oidInt2:
		return int64(int16(binary.BigEndian.Uint16(v))), nil
	case oidInt4:
		return int64(int32(binary.BigEndian.Uint32(v))), nil
	case oidInt8:
		return int64(binary.BigEndian.Uint64(v)), nil
	case oidFloat4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(v))), nil
	case oidFloat8:
		return math.Float64frombits(binary.BigEndian.Uint64(v)), nil
	case oidText, oidVarchar, oidBpchar, oidName, oidUnknown, oidJSON, 0:
		return string(v), nil // text's binary format is its bytes
	case oidBytea:
		return append([]byte(nil), v...), nil
	}
	return nil, badParam(conncat.CodeFeatureNotSupported, n, fmt.Sprintf("binary format for type %d is not supported", oid))
}

func badParam(code string, n int, message string) error {
	return &conncat.Error{Code: code, Position: -1, Message: fmt.Sprintf("%s in parameter $%d", message, n),
		Hint: "Send the value as text, or as the type the statement's description gives."}
}

// resultTypes are the announced types of a description's columns.
func resultTypes(d *conncat.StatementDescription) ([]string, []pgType) {
	names := make([]string, len(d.Columns))
	types := make([]pgType, len(d.Columns))
	for i, c := range d.Columns {
		names[i], types[i] = c.Name, pgTypeOf(c.Type)
	}
	return names, types
}
