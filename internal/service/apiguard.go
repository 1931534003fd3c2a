package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vidflow/vidflow/internal/deepstream"
)

// guard is what the REST API checks before it acts on a request, and the
// little state those checks keep. The threat model (docs/service.md): the
// API is reachable by whatever can reach its port, and by every web page
// the operator's browser opens; neither may use the service to read the
// host's files, reach other hosts or exhaust memory.
type guard struct {
	s        *Service
	session  string          // the session cookie's value ("" with auth off)
	loopback bool            // listening on loopback: Host must name it (DNS rebinding)
	origins  map[string]bool // rest.cors-origins
	probes   rateLimit       // check-reachable's connections
}

// sessionCookie carries the token for the web page, so that the token is
// never in a URL (logs, history, Referer): the page posts the token once
// to /api/v1/session and the browser sends the cookie, the MJPEG <img>s
// included. HttpOnly keeps it from scripts, SameSite=Strict from other
// sites' requests.
const sessionCookie = "vidflow_session"

func newGuard(s *Service) *guard {
	g := &guard{s: s, origins: map[string]bool{}, probes: rateLimit{burst: 5, every: 2 * time.Second}}
	if tok := s.cfg.REST.AuthToken; tok != "" {
		// A value derived from the token rather than the token: a cookie
		// that leaks does not give the bearer token to other clients.
		m := hmac.New(sha256.New, []byte(tok))
		m.Write([]byte("vidflow session cookie v1"))
		g.session = hex.EncodeToString(m.Sum(nil))
	}
	g.loopback = isLoopback(s.cfg.REST.Address)
	for _, o := range s.cfg.REST.CORSOrigins {
		g.origins[normOrigin(o)] = true
	}
	return g
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func normOrigin(o string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
}

// hostAllowed: a server on loopback answers only requests that name a
// loopback host, so that a page whose DNS name is rebound to 127.0.0.1
// (same origin for the browser) cannot use it.
func (g *guard) hostAllowed(r *http.Request) bool {
	if !g.loopback {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return isLoopback(strings.Trim(host, "[]"))
}

// cors answers what a browser asks of a cross-origin request: origins of
// rest.cors-origins get Access-Control-Allow-Origin (never "*"); others get
// nothing, so their pages cannot read answers. It reports whether the
// request was a preflight it answered.
func (g *guard) cors(w http.ResponseWriter, r *http.Request, methods []string) bool {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && g.origins[normOrigin(origin)]
	if allowed {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	if r.Method != http.MethodOptions {
		return false
	}
	if !allowed {
		writeError(w, errorf(http.StatusForbidden, "origin_not_allowed", "cross-origin requests from %q are not allowed (rest.cors-origins)", origin), "")
		return true
	}
	w.Header().Set("Access-Control-Allow-Methods", strings.Join(append(methods, http.MethodOptions), ", "))
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// originAllowed refuses requests that change something and come from a
// page of another origin not in rest.cors-origins: with the JSON content
// type (a preflight) and SameSite cookies this is the third lock against
// cross-site requests. Clients that are not browsers send no Origin.
func (g *guard) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	if g.origins[normOrigin(origin)] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// jsonBody reports whether a request that may carry a body says it is
// JSON. A form or text/plain POST is what a web page can send across
// origins without a preflight, so every POST must be application/json.
func jsonBody(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// authorized checks the bearer token (Authorization header) or the
// session cookie, when the config sets a token. The token is never taken
// from the URL.
func (g *guard) authorized(r *http.Request) bool {
	want := g.s.cfg.REST.AuthToken
	if want == "" {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		tok = strings.TrimSpace(tok)
		return ok && strings.EqualFold(scheme, "Bearer") && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(g.session)) == 1
}

// handleSession is POST /api/v1/session (with the bearer token: sets the
// session cookie) and DELETE /api/v1/session (clears it).
func (g *guard) handleSession(w http.ResponseWriter, r *http.Request) {
	c := &http.Cookie{Name: sessionCookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	reason := "SESSION_START_SUCCESS"
	if r.Method == http.MethodDelete || g.session == "" {
		c.MaxAge = -1
		reason = "SESSION_END_SUCCESS"
	} else {
		c.Value = g.session
	}
	http.SetCookie(w, c)
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": reason, "auth": g.session != ""})
}

// The bounds of stream/add's fields (422 beyond): ids and names are
// labels, a URL is a line.
const (
	maxIDLen  = 256
	maxURLLen = 4096
)

// checkFields bounds what a client sends in stream/add.
func checkFields(id, name, uri string) *Error {
	for _, f := range []struct {
		field, v string
		max      int
	}{{"value.camera_id", id, maxIDLen}, {"value.camera_name", name, maxIDLen}, {"value.camera_url", uri, maxURLLen}} {
		if len(f.v) > f.max {
			return errorf(http.StatusUnprocessableEntity, "out_of_range", "%q is %d bytes; at most %d", f.field, len(f.v), f.max)
		}
	}
	return nil
}

// checkURI is the allow-list of what stream/add may open: schemes of
// rest.allow-schemes; files only in rest.allow-folders (none by default),
// after resolving "..", and symbolic links, so that a link inside cannot
// reach outside. Refusals are alike whether the path exists or not, so
// the API tells nothing of the file system outside those folders.
func (g *guard) checkURI(uri string) *Error {
	u, err := deepstream.ParseURI(uri)
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "bad_uri", "camera_url: %v", err)
	}
	if u.Scheme != deepstream.File {
		pu, _ := url.Parse(uri) // ParseURI parsed it; Parse lowercases the scheme
		scheme := pu.Scheme
		if !contains(g.s.cfg.REST.AllowSchemes, scheme) {
			return errorf(http.StatusForbidden, "uri_not_allowed", "camera_url: scheme %q is not allowed (rest.allow-schemes: %s)", scheme, strings.Join(g.s.cfg.REST.AllowSchemes, ", "))
		}
		return nil
	}
	refused := errorf(http.StatusForbidden, "uri_not_allowed", "camera_url: files outside the allowed folders are refused (rest.allow-folders)")
	p := filepath.Clean(u.Path)
	if !filepath.IsAbs(p) {
		return errorf(http.StatusUnprocessableEntity, "bad_uri", "camera_url: a relative path; want an absolute path or file:///path")
	}
	if _, allowed, regular := g.allowedFile(p); !allowed {
		return refused
	} else if !regular {
		return errorf(http.StatusUnprocessableEntity, "bad_uri", "camera_url: %q is not a readable file", p)
	}
	return nil
}

// allowedFile checks a clean absolute path against rest.allow-folders, by
// its name and, where it exists, by its real path (a symbolic link cannot
// lead out), and says whether it is a regular file, with its real path. A
// refused path is refused alike whether it exists or not.
func (g *guard) allowedFile(p string) (real string, allowed, regular bool) {
	if !g.inFolders(p, false) {
		return "", false, false
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", true, false
	}
	if !g.inFolders(real, true) {
		return "", false, false
	}
	st, err := os.Stat(real)
	return real, true, err == nil && st.Mode().IsRegular()
}

// inFolders reports whether path p is in one of rest.allow-folders (with
// real, of their real paths).
func (g *guard) inFolders(p string, real bool) bool {
	for _, dir := range g.s.cfg.REST.AllowFolders {
		if real {
			var err error
			if dir, err = filepath.EvalSymlinks(dir); err != nil {
				continue
			}
		}
		if rel, err := filepath.Rel(dir, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// checkReachable is rest.check-reachable: off by default, since it makes
// the service dial any host and port a client names (a port scanner).
// When on, it applies only to URLs the scheme allow-list took, at most 5
// at once and one per 2 s after (429 beyond), and its refusal does not
// say why the connection failed.
func (g *guard) checkReachable(uri string) *Error {
	if !g.s.cfg.REST.checkReachable() || deepstream.HostPort(uri) == "" {
		return nil
	}
	if !g.probes.allow(time.Now()) {
		return errorf(http.StatusTooManyRequests, "rate_limited", "too many reachability checks; try again in a few seconds")
	}
	if reachable(uri) != nil {
		return errorf(http.StatusUnprocessableEntity, "unreachable", "camera_url: the host did not accept a TCP connection within 2 s")
	}
	return nil
}

// rateLimit is a token bucket: burst at once, one more every every.
type rateLimit struct {
	burst  float64
	every  time.Duration
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (l *rateLimit) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = l.burst
	} else {
		l.tokens = min(l.burst, l.tokens+float64(now.Sub(l.last))/float64(l.every))
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
