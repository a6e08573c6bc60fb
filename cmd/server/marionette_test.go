package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// marionette is a client for the few commands of Firefox's Marionette
// protocol the Firefox test needs (there is no geckodriver package on
// Debian, and a WebDriver library would be a dependency for ~100 lines).
// Each message is "<decimal length>:<json>"; commands are
// [0, id, name, params], responses [1, id, error, result]. One command is
// in flight at a time.
type marionette struct {
	conn net.Conn
	r    *bufio.Reader
	id   int
}

// maxMarionetteMessage bounds one message: a full-page screenshot of a
// long view is a few MB of base64.
const maxMarionetteMessage = 64 << 20

// dialMarionette connects to addr and reads the server's hello.
func dialMarionette(ctx context.Context, addr string) (*marionette, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	m := &marionette{conn: conn, r: bufio.NewReader(conn)}
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			_ = conn.Close() // the deadline's error is the one to report
			return nil, err
		}
	}
	var hello struct {
		ApplicationType    string `json:"applicationType"`
		MarionetteProtocol int    `json:"marionetteProtocol"`
	}
	if err := m.read(&hello); err != nil {
		_ = conn.Close() // the hello's error is the one to report
		return nil, fmt.Errorf("marionette hello: %w", err)
	}
	if hello.MarionetteProtocol != 3 {
		_ = conn.Close() // the protocol's mismatch is the error to report
		return nil, fmt.Errorf("marionette hello: protocol %d, want 3", hello.MarionetteProtocol)
	}
	return m, nil
}

// marionetteError is the error object of a response.
type marionetteError struct {
	Error      string `json:"error"`
	Message    string `json:"message"`
	Stacktrace string `json:"stacktrace"`
}

// call sends command with params and decodes the response's result into
// result (unless nil), within ctx's deadline.
func (m *marionette) call(ctx context.Context, command string, params, result any) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(pageTimeout)
	}
	if err := m.conn.SetDeadline(dl); err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	m.id++
	msg, err := json.Marshal([]any{0, m.id, command, params})
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(m.conn, "%d:%s", len(msg), msg); err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	var resp []json.RawMessage
	if err := m.read(&resp); err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	if len(resp) != 4 || string(resp[0]) != "1" || string(resp[1]) != strconv.Itoa(m.id) {
		return fmt.Errorf("%s: unexpected response %.200s", command, resp)
	}
	if string(resp[2]) != "null" {
		var e marionetteError
		if err := json.Unmarshal(resp[2], &e); err != nil {
			return fmt.Errorf("%s: error %.200s (%w)", command, resp[2], err)
		}
		return fmt.Errorf("%s: %s: %s", command, e.Error, e.Message)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(resp[3], result); err != nil {
		return fmt.Errorf("%s: decode %.200s: %w", command, resp[3], err)
	}
	return nil
}

// read reads one message into v.
func (m *marionette) read(v any) error {
	var head []byte
	for {
		c, err := m.r.ReadByte()
		if err != nil {
			return err
		}
		if c == ':' {
			break
		}
		if len(head) == 10 {
			return fmt.Errorf("message length %q… too long", head)
		}
		head = append(head, c)
	}
	n, err := strconv.Atoi(string(head))
	if err != nil || n < 0 || n > maxMarionetteMessage {
		return fmt.Errorf("bad message length %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(m.r, body); err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// marionetteValue calls a command whose result is {"value": …}.
func marionetteValue[T any](ctx context.Context, m *marionette, command string, params any) (T, error) {
	var r struct {
		Value T `json:"value"`
	}
	err := m.call(ctx, command, params, &r)
	return r.Value, err
}

// close ends the connection.
func (m *marionette) close() error { return m.conn.Close() }
