package wsclient

// Message is one decoded server message. Type is the wire `type` string
// (Closed, which is not on the wire, says "closed").
type Message interface {
	Type() string
}

// Connected is the first message on every connection. Seq, Epoch, Width
// and Height are extensions; a v1 server leaves them zero.
type Connected struct {
	Message  string
	ClientID string
	Seq      uint64
	Epoch    string // the timeline Seq is on
	Width    int
	Height   int
}

// PixelUpdated is an accepted write. Timestamp is the server's epoch
// milliseconds (with a microsecond fraction); ID is set only on the sender's
// own copy.
type PixelUpdated struct {
	X, Y      int
	Color     string
	Username  string
	Timestamp float64
	Seq       uint64
	ID        string
}

// Error is the server refusing something; ID names the refused write.
type Error struct {
	Message string
	Code    string
	ID      string
}

// Stats is the first half of a presence update.
type Stats struct {
	ActiveUsers int
	Timestamp   float64
}

// UserList is the second half of a presence update.
type UserList struct {
	Users     []string
	Timestamp float64
}

// Resumed ends a replay: every event up to Seq has been sent. Recovered is
// false when the server could not replay and the client must reload the
// snapshot. Epoch is the timeline Seq is on (resume with it next time).
type Resumed struct {
	Seq       uint64
	Recovered bool
	Epoch     string
}

// CanvasReset says an operator turned the canvas white at Seq.
type CanvasReset struct {
	Seq       uint64
	Timestamp float64
}

// CursorPos is one user's pointer in canvas coordinates.
type CursorPos struct {
	ClientID string  `json:"clientId"`
	Username string  `json:"username"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
}

// Cursors is a coalesced cursor update: who moved, and which clients' pointers
// left.
type Cursors struct {
	Cursors []CursorPos
	Gone    []string
}

// Pong answers Ping.
type Pong struct {
	Timestamp float64
}

// Unknown is a frame this package does not understand: an unknown type, a
// known type whose fields have the wrong JSON types, or not JSON at all
// (Name is then ""). It is data, not an error, because the protocol lets
// servers add message types.
type Unknown struct {
	Name string
	Raw  []byte
}

// Closed is the last message of a connection. Code is the close code the
// server sent, 1000 after Close, or 1006 (abnormal closure) when the
// connection dropped without a close frame.
type Closed struct {
	Code int
	Err  error
}

// Type implements Message.
func (Connected) Type() string { return "connected" }

// Type implements Message.
func (PixelUpdated) Type() string { return "pixel_updated" }

// Type implements Message.
func (Error) Type() string { return "error" }

// Type implements Message.
func (Stats) Type() string { return "stats" }

// Type implements Message.
func (UserList) Type() string { return "user_list" }

// Type implements Message.
func (Resumed) Type() string { return "resumed" }

// Type implements Message.
func (CanvasReset) Type() string { return "canvas_reset" }

// Type implements Message.
func (Cursors) Type() string { return "cursors" }

// Type implements Message.
func (Pong) Type() string { return "pong" }

// Type implements Message.
func (u Unknown) Type() string { return u.Name }

// Type implements Message.
func (Closed) Type() string { return "closed" }
