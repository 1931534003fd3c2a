package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/vidflow/vidflow/internal/cluster"
	"github.com/vidflow/vidflow/internal/service"
)

const serveUsage = `usage: vidflow serve [-config file.yml] [-addr host:port] [-token T]

Runs the pipeline of a service config (streams, model, tracker, analytics,
outputs) and serves DeepStream's REST API (POST /api/v1/stream/add, …),
health, Prometheus /metrics and a live web view at http://<addr>/.
Ctrl-C (or SIGTERM, or POST /api/v1/app/quit) stops it gracefully.
See docs/service.md.

`

// serveMain is `vidflow serve`.
func serveMain(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, serveUsage)
		fs.PrintDefaults()
	}
	config := fs.String("config", "configs/serve.yml", "the service config (YAML; see docs/service.md)")
	addr := fs.String("addr", "", "listen on host:port instead of the config's rest address and port")
	token := fs.String("token", "", "require this bearer token (default: the config's rest.auth-token; $VIDFLOW_TOKEN also works)")
	verbose := fs.Bool("v", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected arguments %q (the config is -config file.yml)", fs.Args())
	}
	cfg, err := service.LoadConfig(*config)
	if err != nil {
		return err
	}
	if *addr != "" {
		host, port, err := splitHostPort(*addr)
		if err != nil {
			return fmt.Errorf("serve: -addr %q: %v", *addr, err)
		}
		cfg.REST.Address, cfg.REST.Port = host, &port
	}
	if *token == "" {
		*token = os.Getenv("VIDFLOW_TOKEN")
	}
	if *token != "" {
		cfg.REST.AuthToken = *token
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	opts := service.Options{Logger: log}
	var node *cluster.Node
	if cfg.Cluster != nil {
		if node, err = cluster.New(cfg, log); err != nil {
			return err
		}
		opts.Cluster, opts.Probe = node, node.Probe
	}
	svc, err := service.New(cfg, opts)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// In a cluster a signal drains the node before the service stops, so
	// the service runs on a context of its own.
	svcCtx, svcStop := context.WithCancel(context.Background())
	defer svcStop()
	if node == nil {
		svcCtx = ctx
	}
	if err := svc.Start(svcCtx); err != nil {
		return err
	}
	var left chan struct{} // closed once the node has left the cluster
	if node != nil {
		if err := node.Start(ctx, svc, cfg.Sources.SourceList); err != nil {
			svcStop()
			svc.Wait()
			return err
		}
		left = make(chan struct{})
		go func() {
			clusterStop(ctx, node, svc, svcStop, log)
			close(left)
		}()
	}
	auth := "off"
	if cfg.REST.AuthToken != "" {
		auth = "bearer token"
	} else if !loopback(cfg.REST.Address) {
		// Told to listen beyond this host: anyone who reaches the port may
		// add and remove streams and watch them. Say so where it is seen.
		fmt.Fprintf(out, "vidflow serve: warning: listening on %s without rest.auth-token: every host that reaches the port controls the service\n", cfg.REST.Address)
	}
	fmt.Fprintf(out, "vidflow serve: http://%s/ (REST API under /api/v1, metrics at /metrics, auth %s); Ctrl-C stops\n", svc.Addr(), auth)
	err = svc.Wait()
	if left != nil {
		<-left
	}
	return err
}

// clusterStop leaves the cluster when the node is told to stop: on a
// signal it drains first (its streams are placed elsewhere), then the
// service stops; a service that stops by itself (app/quit) leaves at once.
func clusterStop(ctx context.Context, node *cluster.Node, svc *service.Service, svcStop context.CancelFunc, log *slog.Logger) {
	done := make(chan struct{})
	go func() { svc.Wait(); close(done) }()
	select {
	case <-ctx.Done():
		if err := node.Drain(context.Background()); err != nil {
			log.Warn("draining", "err", err)
		}
	case <-done:
	}
	node.Close()
	svcStop()
}

func splitHostPort(s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return host, port, nil
}

// loopback reports whether a listen host is this host only.
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
