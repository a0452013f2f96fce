package wsclient

import (
	"io"
	"sync"

	"github.com/gorilla/websocket"
)

// frameBufs lends a client the buffer it reads a frame into, for as long
// as the frame takes to read and decode: nothing decoded refers to it
// (DecodeFrame), so an idle client holds none, and a busy one does not
// allocate a frame-sized slice per frame as websocket.ReadMessage does
// (io.ReadAll, growing from 512 bytes: a fifth of pixelbench's CPU at a
// million deliveries a second, see docs/pixelbench.md).
var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledFrameBuf keeps one huge frame from pinning a huge buffer.
const maxPooledFrameBuf = 1 << 20

// readFrame reads the next message and decodes it with emit.
func readFrame(ws *websocket.Conn, emit func(Message)) error {
	_, r, err := ws.NextReader()
	if err != nil {
		return err
	}
	bufp := frameBufs.Get().(*[]byte)
	buf := (*bufp)[:0]
	defer func() {
		if cap(buf) <= maxPooledFrameBuf {
			*bufp = buf[:0]
			frameBufs.Put(bufp)
		}
	}()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	DecodeFrame(buf, emit)
	return nil
}
