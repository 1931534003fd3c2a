package vidflow

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// On-the-fly model update: set "config-file-path" (a new nvinfer config)
// or "model-engine-file" (a new .onnx for the running config) on a
// running Infer element with SetProperty, or let a ModelMonitor do it
// when a file changes (Service Maker's EngineFileMonitor). The new model
// is built beside the running one and takes over between two batches;
// SetProperty returns once it is ready, or with the reason it was refused
// (the running model goes on).

// UpdateModel gives the Infer element elem a new model file: an .onnx
// file (model-engine-file) or an nvinfer config (config-file-path).
func (p *Pipeline) UpdateModel(elem, path string) error {
	return p.SetProperty(elem, modelProperty(path), path)
}

func modelProperty(path string) string {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return "model-engine-file"
	}
	return "config-file-path"
}

// ModelMonitor watches a model or config file and updates an Infer
// element when the file changes and then stays the same for one poll (a
// copy being written is not loaded half-way).
type ModelMonitor struct {
	p        *Pipeline
	elem     string
	path     string
	every    time.Duration
	onUpdate func(error)
	stop     context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	updates  int
}

// WatchModel starts a ModelMonitor of path for the Infer element elem,
// polling every interval (0: one second). onUpdate, if not nil, gets
// each update's outcome (nil when the new model took over, else why not).
func (p *Pipeline) WatchModel(elem, path string, interval time.Duration, onUpdate func(error)) (*ModelMonitor, error) {
	if p.node(elem) == nil {
		return nil, fmt.Errorf("WatchModel: no element %q in pipeline %q", elem, p.name)
	}
	if interval <= 0 {
		interval = time.Second
	}
	if interval < 10*time.Millisecond {
		return nil, fmt.Errorf("WatchModel: interval %v is below 10ms", interval)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &ModelMonitor{p: p, elem: elem, path: path, every: interval, onUpdate: onUpdate, stop: cancel, done: make(chan struct{})}
	first, _ := stamp(path)
	go m.run(ctx, first)
	return m, nil
}

// fileStamp is what tells a changed file: size and modification time.
type fileStamp struct {
	size int64
	mod  time.Time
}

func stamp(path string) (fileStamp, error) {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{st.Size(), st.ModTime()}, nil
}

func (m *ModelMonitor) run(ctx context.Context, loaded fileStamp) {
	defer close(m.done)
	t := time.NewTicker(m.every)
	defer t.Stop()
	var seen fileStamp
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s, err := stamp(m.path)
		if err != nil || s == loaded {
			continue
		}
		if s != seen { // still being written, perhaps: wait for one quiet poll
			seen = s
			continue
		}
		loaded = s
		err = m.p.UpdateModel(m.elem, m.path)
		m.mu.Lock()
		if err == nil {
			m.updates++
		}
		m.mu.Unlock()
		if m.onUpdate != nil {
			m.onUpdate(err)
		}
	}
}

// Updates is the number of updates that took over.
func (m *ModelMonitor) Updates() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updates
}

// Stop ends the monitor and waits for it.
func (m *ModelMonitor) Stop() {
	m.stop()
	<-m.done
}
