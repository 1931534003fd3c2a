package modelconv

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// cacheDir is where scripts/setup-model.sh puts models and the ONNX Runtime
// library: $VIDFLOW_CACHE or $HOME/.cache/vidflow.
func cacheDir() string {
	if d := os.Getenv("VIDFLOW_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "vidflow-cache")
	}
	return filepath.Join(home, ".cache", "vidflow")
}

var (
	ortOnce sync.Once
	ortErr  error
)

// requireORT initialises ONNX Runtime from the cache or skips the test.
func requireORT(t testing.TB) {
	t.Helper()
	lib := filepath.Join(cacheDir(), "onnxruntime", "libonnxruntime.so.1")
	if _, err := os.Stat(lib); err != nil {
		t.Skipf("ONNX Runtime library not in the cache (%s); run scripts/setup-model.sh to enable this test", lib)
	}
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment()
	})
	if ortErr != nil {
		t.Fatalf("initialise ONNX Runtime from %s: %v", lib, ortErr)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ort.IsInitialized() {
		_ = ort.DestroyEnvironment()
	}
	os.Exit(code)
}

// ortSession wraps a single-input ORT session with one intra-op thread.
type ortSession struct {
	s       *ort.DynamicAdvancedSession
	outputs []string
}

func newORTSession(t testing.TB, onnx []byte, input string, outputs []string) *ortSession {
	t.Helper()
	s, err := openORTSession(t, onnx, input, outputs)
	if err != nil {
		t.Fatalf("ORT rejected the model: %v", err)
	}
	return s
}

// openORTSession opens the session, returning ONNX Runtime's refusal.
func openORTSession(t testing.TB, onnx []byte, input string, outputs []string) (*ortSession, error) {
	t.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(onnx, []string{input}, outputs, opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { s.Destroy() })
	return &ortSession{s: s, outputs: outputs}, nil
}

// run feeds one float32 tensor and returns each output's data and shape.
func (o *ortSession) run(t testing.TB, shape []int64, data []float32) ([][]float32, [][]int64) {
	t.Helper()
	return runInput(o, t, shape, data)
}

// runU8 feeds one uint8 tensor to a session and returns each output's
// data and shape.
func (o *ortSession) runU8(t testing.TB, shape []int64, data []uint8) ([][]float32, [][]int64) {
	t.Helper()
	return runInput(o, t, shape, data)
}

func runInput[T float32 | uint8](o *ortSession, t testing.TB, shape []int64, data []T) ([][]float32, [][]int64) {
	t.Helper()
	in, err := ort.NewTensor(ort.NewShape(shape...), data)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(o.outputs))
	if err := o.s.Run([]ort.Value{in}, outs); err != nil {
		t.Fatalf("ORT run: %v", err)
	}
	datas := make([][]float32, len(outs))
	shapes := make([][]int64, len(outs))
	for i, v := range outs {
		ft, ok := v.(*ort.Tensor[float32])
		if !ok {
			t.Fatalf("output %s is %T, want float32 tensor", o.outputs[i], v)
		}
		datas[i] = append([]float32(nil), ft.GetData()...)
		shapes[i] = append([]int64(nil), ft.GetShape()...)
		v.Destroy()
	}
	return datas, shapes
}
