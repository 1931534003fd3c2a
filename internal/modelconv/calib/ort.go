package calib

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/vidflow/vidflow/internal/config"
	ort "github.com/yalue/onnxruntime_go"
)

var (
	ortOnce sync.Once
	ortErr  error
)

// InitORT loads ONNX Runtime once: lib, or $VIDFLOW_ORT_LIB, or the
// set-up cache's library.
func InitORT(lib string) error {
	ortOnce.Do(func() {
		if lib == "" {
			lib = os.Getenv("VIDFLOW_ORT_LIB")
		}
		if lib == "" {
			lib = filepath.Join(config.CacheDir(), "onnxruntime", "libonnxruntime.so.1")
		}
		if _, err := os.Stat(lib); err != nil {
			ortErr = fmt.Errorf("calib: ONNX Runtime library: %w (run scripts/setup-model.sh)", err)
			return
		}
		if !ort.IsInitialized() {
			ort.SetSharedLibraryPath(lib)
			ortErr = ort.InitializeEnvironment()
		}
	})
	return ortErr
}

// Session is a model with the input "images" [1,Size,Size,3] float32 and
// float32 outputs, run one frame at a time.
type Session struct {
	s       *ort.DynamicAdvancedSession
	in      *ort.Tensor[float32]
	outputs []string
}

// Open opens the ONNX model (bytes) with threads intra-op threads.
func Open(model []byte, outputs []string, threads int) (*Session, error) {
	if err := InitORT(""); err != nil {
		return nil, err
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return nil, err
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	// VIDFLOW_CALIB_NOOPT=1 runs the graph as written (no fusion): the QDQ
	// model then computes the quantization in float, which tells ONNX
	// Runtime's integer kernels' own error apart from the quantization's.
	if os.Getenv("VIDFLOW_CALIB_NOOPT") == "1" {
		if err := opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
			return nil, err
		}
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"images"}, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("calib: ONNX Runtime refused the model: %w", err)
	}
	in, err := ort.NewEmptyTensor[float32](ort.NewShape(1, Size, Size, 3))
	if err != nil {
		s.Destroy()
		return nil, err
	}
	return &Session{s: s, in: in, outputs: outputs}, nil
}

// Run runs the model on a frame and calls fn with each output's name and
// data (valid only during the call).
func (s *Session) Run(f Frame, fn func(i int, name string, data []float32)) error {
	f.Float(s.in.GetData())
	outs := make([]ort.Value, len(s.outputs))
	if err := s.s.Run([]ort.Value{s.in}, outs); err != nil {
		return fmt.Errorf("calib: run on %s: %w", f.Name, err)
	}
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, v := range outs {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			return fmt.Errorf("calib: output %s is %T, want float32", s.outputs[i], v)
		}
		fn(i, s.outputs[i], t.GetData())
	}
	return nil
}

// Close frees the session.
func (s *Session) Close() {
	s.in.Destroy()
	s.s.Destroy()
}
