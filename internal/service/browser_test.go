package service

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateDocs = flag.Bool("update-docs", false, "write docs/images/service.png")

// webDriver is a minimal W3C WebDriver client over chromedriver.
type webDriver struct {
	t       *testing.T
	base    string // http://127.0.0.1:port/session/<id>
	client  *http.Client
	cmd     *exec.Cmd
	profile string
}

func chromium() (browser, driver string, ok bool) {
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			browser = p
			break
		}
	}
	driver, _ = exec.LookPath("chromedriver")
	return browser, driver, browser != "" && driver != ""
}

// startBrowser starts chromedriver on loopback and a headless Chromium
// session (the flags Chromium needs on a machine without a network).
func startBrowser(t *testing.T) *webDriver {
	t.Helper()
	browser, driver, ok := chromium()
	if !ok {
		t.Skip("no chromium and chromedriver (bash scripts/setup-browser.sh installs them)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	wd := &webDriver{t: t, client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{}}}
	wd.cmd = exec.Command(driver, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	var logs bytes.Buffer
	wd.cmd.Stdout, wd.cmd.Stderr = &logs, &logs
	if err := wd.cmd.Start(); err != nil {
		t.Fatalf("chromedriver: %v", err)
	}
	t.Cleanup(func() {
		if wd.base != "" {
			req, _ := http.NewRequest("DELETE", wd.base, nil)
			if res, err := wd.client.Do(req); err == nil {
				res.Body.Close()
			}
		}
		wd.cmd.Process.Kill()
		wd.cmd.Wait()
		wd.client.CloseIdleConnections()
		if t.Failed() {
			t.Logf("chromedriver log:\n%s", logs.String())
		}
	})
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitFor(t, 20*time.Second, "chromedriver", func() bool {
		res, err := wd.client.Get(root + "/status")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var st struct {
			Value struct{ Ready bool } `json:"value"`
		}
		json.NewDecoder(res.Body).Decode(&st)
		return st.Value.Ready
	})
	profile := t.TempDir()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{"binary": browser, "args": []string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=1280,1000"}},
	}}}
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	wd.base = root + "/session"
	wd.call("POST", "", caps, &sess)
	if sess.SessionID == "" {
		t.Fatal("chromedriver gave no session")
	}
	wd.base = root + "/session/" + sess.SessionID
	return wd
}

// call sends a WebDriver command and decodes its "value" into out.
func (wd *webDriver) call(method, path string, body, out any) {
	wd.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, wd.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	res, err := wd.client.Do(req)
	if err != nil {
		wd.t.Fatalf("webdriver %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	data, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(data, &env); err != nil || res.StatusCode != 200 {
		wd.t.Fatalf("webdriver %s %s: %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(env.Value, out); err != nil {
			wd.t.Fatalf("webdriver %s %s: %v: %s", method, path, err, env.Value)
		}
	}
}

func (wd *webDriver) navigate(url string) { wd.call("POST", "/url", map[string]any{"url": url}, nil) }

// js runs a script in the page and returns its result.
func (wd *webDriver) js(script string, args ...any) any {
	wd.t.Helper()
	if args == nil {
		args = []any{}
	}
	var v any
	wd.call("POST", "/execute/sync", map[string]any{"script": script, "args": args}, &v)
	return v
}

func (wd *webDriver) element(css string) string {
	wd.t.Helper()
	var el map[string]string
	wd.call("POST", "/element", map[string]any{"using": "css selector", "value": css}, &el)
	for _, id := range el {
		return id
	}
	wd.t.Fatalf("no element %s", css)
	return ""
}

func (wd *webDriver) typeInto(css, text string) {
	wd.call("POST", "/element/"+wd.element(css)+"/value", map[string]any{"text": text}, nil)
}

func (wd *webDriver) click(css string) {
	wd.call("POST", "/element/"+wd.element(css)+"/click", map[string]any{}, nil)
}

func (wd *webDriver) screenshot() []byte {
	var b64 string
	wd.call("GET", "/screenshot", nil, &b64)
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		wd.t.Fatal(err)
	}
	return data
}

// waitJS polls a script until it returns true.
func (wd *webDriver) waitJS(d time.Duration, what, script string, args ...any) {
	wd.t.Helper()
	waitFor(wd.t, d, what, func() bool { return wd.js(script, args...) == true })
}

// imageHash draws a card's live view into a canvas and sums its pixels.
const imageHash = `
const img = document.querySelector('.card[data-camera-id="' + arguments[0] + '"] img');
if (!img || !img.naturalWidth) return -1;
const c = document.createElement('canvas');
c.width = 64; c.height = 36;
const g = c.getContext('2d');
g.drawImage(img, 0, 0, 64, 36);
const d = g.getImageData(0, 0, 64, 36).data;
let h = 0;
for (let i = 0; i < d.length; i++) h = (h * 31 + d[i]) % 1000000007;
return h;`

// The web view in a real (headless) Chromium: the page lists the stream,
// its live view loads and changes, its statistics change; a stream added
// through the form appears with its own live view; Remove removes it.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	wd := startBrowser(t)
	leakCheck(t)

	// The sample video through the default detector when they are set
	// up (the screenshot of docs/service.md), else a synthetic stream.
	cfg := `
max-batch-size: 4
width: 960
height: 540
live-view: {fps: 8, width: 640}
sources:
  source-config: {properties: {file-loop: true}}
  source-list:
`
	video := filepath.Join(CacheDir(), "media", "vtest.mp4")
	model := filepath.Join(CacheDir(), "models", "centernet", "centernet.onnx")
	infer, _ := filepath.Abs("../../configs/config_infer_primary.yml")
	_, errV := os.Stat(video)
	_, errM := os.Stat(model)
	withModel := errV == nil && errM == nil
	if withModel {
		cfg += fmt.Sprintf("    - {uri: %q, sensor-id: lobby, sensor-name: Lobby}\ninfer: {config: %q}\ntracker: {}\n", video, infer)
	} else {
		t.Logf("no sample video or model (%v, %v): a synthetic stream", errV, errM)
		cfg += "    - {uri: \"testsrc://?is-live=true&truth=true&objects=5\", sensor-id: lobby, sensor-name: Lobby}\n"
	}
	h := startService(t, cfg, Options{})
	wd.navigate(h.base + "/")

	wd.waitJS(20*time.Second, "the stream's card", `return document.querySelectorAll('#streams .card[data-camera-id="lobby"]').length === 1`)
	wd.waitJS(20*time.Second, "the live view's first picture", `const i = document.querySelector('.card[data-camera-id="lobby"] img'); return i.naturalWidth > 0`)
	if got := wd.js(`return document.querySelector('#ready').textContent`); got != "ready" {
		t.Errorf("readiness badge %q", got)
	}
	// The live view and the statistics change.
	frames := func(id string) int {
		v := wd.js(`const e = document.querySelector('.card[data-camera-id="' + arguments[0] + '"] .frames'); return e ? Number(e.textContent) : -1`, id)
		f, _ := v.(float64)
		return int(f)
	}
	h1, f1 := wd.js(imageHash, "lobby"), frames("lobby")
	waitFor(t, 10*time.Second, "the live view to change", func() bool { return wd.js(imageHash, "lobby") != h1 })
	waitFor(t, 10*time.Second, "the frame count to grow", func() bool { return frames("lobby") > f1 })
	if state := wd.js(`return document.querySelector('.card[data-camera-id="lobby"] .state').textContent`); state != "playing" {
		t.Errorf("state %v", state)
	}
	if n := wd.js(`return document.querySelectorAll('#elements tbody tr').length`); n.(float64) < 3 {
		t.Errorf("%v element rows", n)
	}

	if withModel {
		// The detector's time is in the metrics; its interval changes while
		// it runs.
		_, raw := h.raw("GET", "/metrics", nil, nil)
		if !strings.Contains(string(raw), `vidflow_inference_seconds_count{element="primary-infer"} `) ||
			strings.Contains(string(raw), `vidflow_inference_seconds_count{element="primary-infer"} 0`) {
			t.Errorf("no inference times in /metrics")
		}
		code, m := h.do("POST", "/api/v1/infer/set-interval", `{"stream":{"stream_id":"0","interval":2}}`)
		if code != 200 || m["reason"] != "INFER_INTERVAL_UPDATE_SUCCESS" {
			t.Errorf("set-interval: %d %v", code, m)
		}
	}

	// Add a stream through the form.
	wd.typeInto("#add-id", "web-cam")
	wd.typeInto("#add-name", "Added from the page")
	wd.typeInto("#add-url", "testsrc://?is-live=true&framerate=15&truth=true&objects=4")
	wd.click("#add-button")
	wd.waitJS(10*time.Second, "the added stream's card", `return document.querySelectorAll('.card[data-camera-id="web-cam"]').length === 1`)
	if msg := wd.js(`return document.querySelector('#add-result').textContent`).(string); !strings.HasPrefix(msg, "Added web-cam") {
		t.Errorf("form result %q", msg)
	}
	wd.waitJS(10*time.Second, "the added stream's live view", `const i = document.querySelector('.card[data-camera-id="web-cam"] img'); return i.naturalWidth > 0`)
	waitFor(t, 10*time.Second, "the added stream's frames", func() bool { return frames("web-cam") > 10 })
	if len(h.svc.Streams()) != 2 {
		t.Errorf("the service has %d streams", len(h.svc.Streams()))
	}
	time.Sleep(1500 * time.Millisecond) // a few more pictures and a stats refresh
	shot := wd.screenshot()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() < 1000 {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(t.TempDir(), "service.png")
	if *updateDocs {
		path = "../../docs/images/service.png"
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %v in %s", img.Bounds().Size(), path)

	// A refused add shows the reason.
	wd.typeInto("#add-id", "web-cam")
	wd.typeInto("#add-url", "testsrc://")
	wd.click("#add-button")
	wd.waitJS(10*time.Second, "the duplicate's error", `return document.querySelector('#add-result').textContent.startsWith('409')`)

	// Remove it with its button.
	wd.click(`.card[data-camera-id="web-cam"] .remove`)
	wd.waitJS(10*time.Second, "the removed stream's card to go", `return document.querySelectorAll('.card[data-camera-id="web-cam"]').length === 0`)
	if len(h.svc.Streams()) != 1 {
		t.Errorf("the service has %d streams after Remove", len(h.svc.Streams()))
	}
	wd.navigate("about:blank") // ends the page's MJPEG requests
}
