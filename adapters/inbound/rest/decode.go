package rest

import (
	"encoding/json"
	"errors"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/place"
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
	msgOverBudget   = "Too many pixels in one request: more than a client may place at once"
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
	p, id, problem := place.Parse(place.Fields{X: body.X, Y: body.Y, Color: body.Color, ID: body.ID}, size)
	switch problem {
	case place.OK:
	case place.OutOfBounds:
		return domain.Write{}, errOutOfBound
	case place.BadColor:
		return domain.Write{}, errBadColor
	case place.IDTooLong:
		return domain.Write{}, errBadID
	default:
		return domain.Write{}, errFormat
	}
	username, present, err := place.String(body.Username)
	if err != nil {
		return domain.Write{}, errFormat
	}
	if !present {
		username = defaultUsername
	}
	return domain.Write{
		Pixel:    p,
		Username: domain.NormalizeUsername(username),
		Origin:   domain.Origin{WriteID: id},
	}, nil
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
