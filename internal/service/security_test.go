package service

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// secConfig is a service with the default REST settings (safe by default).
const secConfig = `
sources:
  source-list:
    - {uri: "testsrc://?is-live=true&framerate=30&width=320&height=240", sensor-id: cam0}
  source-config: {properties: {file-loop: true}}
max-batch-size: 3
width: 320
height: 240
live-view: {enable: false}
`

// send is a request with the given headers (no defaults added) and Host.
func (h *harness) send(method, path, body, host string, hdr map[string]string) (*http.Response, string) {
	h.t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	} else {
		r = strings.NewReader("")
	}
	req, err := http.NewRequest(method, h.base+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res, b.String()
}

const jsonCT = "application/json"

// Web pages of other origins can neither read answers (no wildcard CORS)
// nor change anything (JSON content type, Origin check); a DNS-rebound
// name is refused on loopback.
func TestSecurityBrowserRequests(t *testing.T) {
	leakCheck(t)
	h := startService(t, secConfig+"rest: {cors-origins: [\"https://vst.example:8443\"]}\n", Options{})
	evil := map[string]string{"Origin": "https://evil.example"}
	quit := `{"stream":{"app_quit":1}}`

	res, _ := h.send("GET", "/api/v1/stream/get-stream-info", "", "", evil)
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET from another origin: %d, Access-Control-Allow-Origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
	res, _ = h.send("OPTIONS", "/api/v1/stream/add", "", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
	if res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", res.StatusCode, res.Header)
	}
	res, _ = h.send("OPTIONS", "/api/v1/stream/add", "", "", map[string]string{"Origin": "https://vst.example:8443", "Access-Control-Request-Method": "POST"})
	if res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://vst.example:8443" || !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight from an allowed origin: %d %v", res.StatusCode, res.Header)
	}
	// What a page can send without a preflight: a form or text/plain POST.
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		res, body := h.send("POST", "/api/v1/app/quit", quit, "", map[string]string{"Content-Type": ct})
		if res.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(body, "unsupported_media_type") {
			t.Errorf("quit as %q: %d %s", ct, res.StatusCode, body)
		}
	}
	res, body := h.send("POST", "/api/v1/stream/add", string(mustJSON(addBody("x", "", testsrc(2)))), "", map[string]string{"Content-Type": "text/plain"})
	if res.StatusCode != 415 {
		t.Errorf("add as text/plain: %d %s", res.StatusCode, body)
	}
	res, body = h.send("POST", "/api/v1/app/quit", quit, "", map[string]string{"Content-Type": jsonCT, "Origin": "https://evil.example"})
	if res.StatusCode != 403 || !strings.Contains(body, "origin_not_allowed") {
		t.Errorf("quit from another origin: %d %s", res.StatusCode, body)
	}
	// DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
	res, body = h.send("GET", "/api/v1/stream/get-stream-info", "", "evil.example", nil)
	if res.StatusCode != 403 || !strings.Contains(body, "host_not_allowed") {
		t.Errorf("Host evil.example: %d %s", res.StatusCode, body)
	}
	if res, _ := h.send("GET", "/api/v1/stream/get-stream-info", "", "localhost", nil); res.StatusCode != 200 {
		t.Errorf("Host localhost: %d", res.StatusCode)
	}
	if !h.svc.Ready() {
		t.Fatal("a refused request stopped the service")
	}
	// The allowed origin gets its answers.
	res, _ = h.send("POST", "/api/v1/stream/add", string(mustJSON(addBody("vst", "", testsrc(3)))), "", map[string]string{"Content-Type": jsonCT, "Origin": "https://vst.example:8443"})
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://vst.example:8443" {
		t.Errorf("add from the allowed origin: %d %v", res.StatusCode, res.Header)
	}
}

// By default stream/add opens no local file and fetches no http(s) URL,
// and its refusals say nothing of the file system; allowed folders are
// held to, through ".." and symbolic links.
func TestSecurityURIAllowList(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	video := filepath.Join(dir, "a.mp4")
	os.WriteFile(video, []byte("x"), 0o644)
	outside := filepath.Join(t.TempDir(), "secret.mp4")
	os.WriteFile(outside, []byte("x"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link.mp4"))
	os.Symlink("/etc", filepath.Join(dir, "etc"))

	// A web server that counts the service's connections to it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	defer ln.Close()

	h := startService(t, secConfig, Options{})
	refused := func(uri, why string) string {
		t.Helper()
		code, m := h.do("POST", "/api/v1/stream/add", addBody("x", "", uri))
		if code != 403 || m["code"] != "uri_not_allowed" {
			t.Errorf("%s (%s): %d %v; want 403 uri_not_allowed", uri, why, code, m)
		}
		msg, _ := m["error"].(string)
		return msg
	}
	a := refused("file:///etc/passwd", "a file, no folder allowed")
	b := refused("/nonexistent/x.mp4", "a missing file")
	c := refused("file:///etc", "a folder")
	if a != b || b != c || strings.Contains(a, "exist") || strings.Contains(a, "folder,") {
		t.Errorf("the refusals tell files apart: %q, %q, %q", a, b, c)
	}
	refused("http://"+ln.Addr().String()+"/v.mp4", "http is not allowed by default")
	refused("https://"+ln.Addr().String()+"/v.mp4", "https is not allowed by default")
	time.Sleep(100 * time.Millisecond)
	if n := conns.Load(); n != 0 {
		t.Errorf("the service connected %d times to a URL it refused", n)
	}

	h2 := startService(t, secConfig+"rest: {allow-folders: ["+`"`+dir+`"`+"]}\n", Options{})
	for _, c := range []struct {
		uri  string
		code int
	}{
		{"file://" + outside, 403},
		{dir + "/../" + filepath.Base(filepath.Dir(outside)) + "/secret.mp4", 403},
		{filepath.Join(dir, "link.mp4"), 403}, // a link out of the folder
		{filepath.Join(dir, "etc", "passwd"), 403},
		{filepath.Join(dir, "nope.mp4"), 422}, // inside: the operator's folder may say so
		{"video.mp4", 422},                    // relative to nothing the client knows
	} {
		code, m := h2.do("POST", "/api/v1/stream/add", addBody("x", "", c.uri))
		if code != c.code {
			t.Errorf("%s: %d %v; want %d", c.uri, code, m, c.code)
		}
	}
}

// check-reachable is off by default (no port scanning through the API);
// when on, it is rate-limited and does not say why a connection failed.
func TestSecurityReachability(t *testing.T) {
	leakCheck(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()

	// Off: the URL is accepted (the source reconnects on its own), and
	// the batch's file-loop of the config does not make an RTSP add fail.
	h := startService(t, secConfig, Options{})
	if code, m := h.do("POST", "/api/v1/stream/add", addBody("rtsp-cam", "", "rtsp://"+closed+"/cam")); code != 200 {
		t.Fatalf("rtsp add with check-reachable off: %d %v", code, m)
	}
	h.remove("rtsp-cam")

	h2 := startService(t, secConfig+"rest: {check-reachable: true}\n", Options{})
	var codes []int
	for i := 0; i < 7; i++ {
		code, m := h2.do("POST", "/api/v1/stream/add", addBody("x", "", "rtsp://"+closed+"/cam"))
		codes = append(codes, code)
		if code == 422 && (m["code"] != "unreachable" || strings.Contains(m["error"].(string), "refused")) {
			t.Errorf("unreachable: %v", m)
		}
	}
	if codes[0] != 422 || codes[6] != http.StatusTooManyRequests {
		t.Errorf("7 reachability checks at once: %v; want 422 first, 429 at the end", codes)
	}
}

// Every field a client sends is bounded (422 naming the field), testsrc's
// properties included, and nothing big is allocated first.
func TestSecurityBoundedRequests(t *testing.T) {
	leakCheck(t)
	h := startService(t, secConfig, Options{})
	for _, c := range []struct {
		body  any
		field string
	}{
		{addBody("x", "", "testsrc://?objects=200000000"), `"objects"`},
		{addBody("x", "", "testsrc://?pool-size=100000000"), `"pool-size"`},
		{addBody("x", "", "testsrc://?width=8192&height=8192"), `"width"`},
		{addBody("x", "", "testsrc://?width=100000"), `"width"`},
		{addBody("x", "", "testsrc://?framerate=1e12"), `"framerate"`},
		{addBody(strings.Repeat("i", 1000), "", testsrc(2)), `"value.camera_id"`},
		{addBody("x", strings.Repeat("n", 1000), testsrc(2)), `"value.camera_name"`},
		{addBody("x", "", "testsrc://?seed="+strings.Repeat("1", 5000)), `"value.camera_url"`},
	} {
		start := time.Now()
		code, m := h.do("POST", "/api/v1/stream/add", c.body)
		if msg, _ := m["error"].(string); code != 422 || !strings.Contains(msg, c.field) {
			t.Errorf("%.80v: %d %v; want 422 naming %s", c.body, code, m, c.field)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s took %v", c.field, d)
		}
	}
	if code, m := h.do("POST", "/api/v1/infer/set-interval", `{"stream":{"interval":2000000000}}`); code != 422 || !strings.Contains(m["error"].(string), `"stream.interval"`) {
		t.Errorf("huge interval: %d %v", code, m)
	}
	if n := len(h.svc.Streams()); n != 1 {
		t.Errorf("%d streams after refused adds", n)
	}
}

// With a token, the web page's session is a cookie (HttpOnly,
// SameSite=Strict) set by POST /api/v1/session; a token in the URL is
// refused.
func TestSecuritySessionCookie(t *testing.T) {
	leakCheck(t)
	h := startService(t, secConfig+"rest: {auth-token: s3cret}\n", Options{})
	h.token = ""
	if code, _ := h.raw("POST", "/api/v1/session", "{}", map[string]string{"Authorization": "Bearer wrong"}); code != 401 {
		t.Errorf("session with a wrong token: %d", code)
	}
	res, body := h.send("POST", "/api/v1/session", "{}", "", map[string]string{"Content-Type": jsonCT, "Authorization": "Bearer s3cret"})
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "vidflow_session" {
			cookie = c
		}
	}
	if res.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || strings.Contains(cookie.Value, "s3cret") {
		t.Fatalf("session: %d %v %s", res.StatusCode, cookie, body)
	}
	for _, c := range []struct {
		path string
		hdr  map[string]string
		code int
	}{
		{"/api/v1/metrics", map[string]string{"Cookie": "vidflow_session=" + cookie.Value}, 200},
		{"/api/v1/stream/cam0/snapshot", map[string]string{"Cookie": "vidflow_session=" + cookie.Value}, 404}, // past auth: the live view is off
		{"/api/v1/metrics", map[string]string{"Cookie": "vidflow_session=s3cret"}, 401},
		{"/api/v1/metrics?access_token=s3cret", nil, 401},
		{"/api/v1/stream/cam0/mjpeg?access_token=s3cret", nil, 401},
	} {
		if res, body := h.send("GET", c.path, "", "", c.hdr); res.StatusCode != c.code {
			t.Errorf("%s %v: %d %s; want %d", c.path, c.hdr, res.StatusCode, body, c.code)
		}
	}
}

// Config files are read bounded: devices and oversized files are refused
// at once with their names, and a source-list file without streams is an
// error, not an empty service.
func TestConfigFilesBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yml")
	os.WriteFile(big, []byte("name: x\n"+strings.Repeat("# padding\n", MaxConfigSize/10+1)), 0o644)
	nostreams := filepath.Join(dir, "sources.yml")
	os.WriteFile(nostreams, []byte("# nothing\n"), 0o644)
	n := 0
	serve := func(yml string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("serve%d.yml", n))
		os.WriteFile(p, []byte(yml), 0o644)
		return p
	}
	for _, c := range []struct{ path, want string }{
		{"/dev/zero", `"/dev/zero" is not a regular file`},
		{big, "over the limit of 1048576 bytes"},
		{serve("sources: /dev/zero\n"), `"/dev/zero" is not a regular file`},
		{serve("sources: " + nostreams + "\n"), nostreams + ": source-list is empty"},
		{serve("infer: {config: /dev/zero}\n"), `infer: config "/dev/zero" is not a regular file`},
	} {
		start := time.Now()
		if _, err := LoadConfig(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.path, err, c.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v", c.path, d)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
