package rest

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/pixelplayground/pixelplayground/domain"
)

// Error messages on the wire. The first four are the old API's, which
// clients may match on; keep them byte for byte.
const (
	msgBadFormat    = "Invalid data format"
	msgOutOfBounds  = "Coordinates out of bounds"
	msgBadColor     = "Invalid color format. Use hex format like #FF0000"
	msgNotArray     = "Pixels must be an array"
	msgBadID        = "Invalid write id: at most 64 bytes"
	msgTooLarge     = "Request body too large"
	msgRateLimited  = "Rate limit exceeded"
	msgUnavailable  = "Service unavailable"
	msgInternal     = "Internal server error"
	msgResetOff     = "Canvas reset is disabled on this server"
	msgUnauthorized = "Unauthorized: a valid operator token is required"
	msgBadScale     = "Invalid scale: an integer from 1 to 16, with the image at most 8192 pixels a side"
	msgBusy         = "Too many exports in progress, try again"
)

// Rejection reasons for the PixelsRejected metric; the WebSocket adapter's
// error codes, so both sources add up on one dashboard.
const (
	reasonBadJSON     = "bad_json"
	reasonBadPixel    = "bad_pixel"
	reasonBadID       = "bad_id"
	reasonTooLarge    = "too_large"
	reasonRateLimited = "rate_limited"
	reasonUnavailable = "unavailable"
)

// writeBody is one pixel as a client sends it. Fields stay raw so that a
// wrong JSON type ("5", null, true) is told apart and refused rather than
// coerced as the old API did.
type writeBody struct {
	X        json.RawMessage `json:"x"`
	Y        json.RawMessage `json:"y"`
	Color    json.RawMessage `json:"color"`
	Username json.RawMessage `json:"username"`
	ID       json.RawMessage `json:"id"`
}

// batchBody is PUT /api/pixels. A top-level username applies to the pixels
// that carry none.
type batchBody struct {
	Pixels   json.RawMessage `json:"pixels"`
	Username json.RawMessage `json:"username"`
}

// invalid is a refused write: the wire message and the metric reason.
type invalid struct {
	message string
	reason  string
}

func (e *invalid) Error() string { return e.message }

var (
	errFormat     = &invalid{msgBadFormat, reasonBadPixel}
	errBadJSON    = &invalid{msgBadFormat, reasonBadJSON}
	errOutOfBound = &invalid{msgOutOfBounds, reasonBadPixel}
	errBadColor   = &invalid{msgBadColor, reasonBadPixel}
	errBadID      = &invalid{msgBadID, reasonBadID}
	errWrongType  = errors.New("wrong JSON type")
)

// decodeWrite parses and validates one pixel write. defaultUsername is used
// when the pixel carries none.
func decodeWrite(raw []byte, size domain.Size, defaultUsername string) (domain.Write, *invalid) {
	var body writeBody
	if err := json.Unmarshal(raw, &body); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return domain.Write{}, errFormat // valid JSON, but not an object
		}
		return domain.Write{}, errBadJSON
	}
	return validateWrite(body, size, defaultUsername)
}

func validateWrite(body writeBody, size domain.Size, defaultUsername string) (domain.Write, *invalid) {
	x, bad := coordinate(body.X)
	if bad != nil {
		return domain.Write{}, bad
	}
	y, bad := coordinate(body.Y)
	if bad != nil {
		return domain.Write{}, bad
	}
	if !size.Contains(x, y) {
		return domain.Write{}, errOutOfBound
	}
	// A missing or non-string colour gets the colour message, as in the old
	// API, whose regular expression test failed on undefined.
	colorText, present, err := rawString(body.Color)
	if err != nil || !present {
		return domain.Write{}, errBadColor
	}
	color, err := domain.ParseColor(colorText)
	if err != nil {
		return domain.Write{}, errBadColor
	}
	username, present, err := rawString(body.Username)
	if err != nil {
		return domain.Write{}, errFormat
	}
	if !present {
		username = defaultUsername
	}
	id, _, err := rawString(body.ID)
	if err != nil {
		return domain.Write{}, errFormat
	}
	if len(id) > domain.MaxWriteIDBytes {
		return domain.Write{}, errBadID
	}
	return domain.Write{
		Pixel:    domain.Pixel{X: x, Y: y, Color: color},
		Username: domain.NormalizeUsername(username),
		Origin:   domain.Origin{WriteID: id},
	}, nil
}

// coordinate accepts a JSON number that is a whole number. A fraction (the
// old API stored 2.5 as "2.5,3") or a non-number is a format error; a whole
// number off the canvas is out of bounds.
func coordinate(raw json.RawMessage) (int, *invalid) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, errFormat
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		// Overflow (1e400) is refused like any malformed number.
		return 0, errFormat
	}
	if f == 0 && underflowed(raw) {
		return 0, errFormat // 1e-400 is not 0, and not an integer
	}
	v, err := domain.Coordinate(f)
	switch {
	case errors.Is(err, domain.ErrOutOfBounds):
		return 0, errOutOfBound
	case err != nil:
		return 0, errFormat
	}
	return v, nil
}

// underflowed reports whether a number that parsed as zero has a non-zero
// digit before its exponent, i.e. was a tiny fraction rounded to zero.
func underflowed(raw []byte) bool {
	for _, c := range raw {
		if c == 'e' || c == 'E' {
			return false
		}
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// rawString reads an optional string field: absent or null is not present;
// any other non-string is an error.
func rawString(raw json.RawMessage) (s string, present bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	if raw[0] != '"' {
		return "", true, errWrongType
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, errWrongType
	}
	return s, true, nil
}

// pathCoordinate parses a coordinate from the URL: decimal digits only (the
// old API's parseInt turned "abc" into NaN and answered 200).
func pathCoordinate(v any) (int, bool) {
	s, _ := v.(string)
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
