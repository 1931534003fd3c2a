package infer

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vidflow/vidflow/internal/config"
)

// EnvORTLibrary names the environment variable that points to the ONNX
// Runtime shared library.
const EnvORTLibrary = "VIDFLOW_ORT_LIB"

// ONNX Runtime is initialised once per process, from one library.
var ortState struct {
	mu  sync.Mutex
	lib string // the library loaded ("" before, or when the application did it)
}

// ORTLibraryCandidates lists, in search order, where the ONNX Runtime
// library is looked for: explicit (the element's ort-library property) if
// set, $VIDFLOW_ORT_LIB, the set-up cache, then the folders of
// LD_LIBRARY_PATH and the usual system folders.
func ORTLibraryCandidates(explicit string) []string {
	var out []string
	if explicit != "" {
		out = append(out, explicit)
	}
	if env := os.Getenv(EnvORTLibrary); env != "" {
		out = append(out, env)
	}
	out = append(out, filepath.Join(config.CacheDir(), "onnxruntime", "libonnxruntime.so.1"))
	dirs := filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))
	arch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	dirs = append(dirs, "/usr/local/lib", "/usr/lib", "/opt/onnxruntime/lib")
	if arch != "" {
		dirs = append(dirs, "/usr/lib/"+arch, "/usr/local/lib/"+arch)
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		out = append(out, filepath.Join(d, "libonnxruntime.so.1"), filepath.Join(d, "libonnxruntime.so"))
	}
	return out
}

// InitORT loads ONNX Runtime once per process: from explicit if given,
// else the first library ORTLibraryCandidates finds. It returns the
// library's path ("(loaded by the application)" when ONNX Runtime was
// initialised outside vidflow). Asking for another library once one is
// loaded is an error: a process holds one.
func InitORT(explicit string) (string, error) {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if ort.IsInitialized() {
		lib := ortState.lib
		if lib == "" {
			lib = "(loaded by the application)"
		}
		if explicit != "" && ortState.lib != "" && !sameFile(explicit, ortState.lib) {
			return lib, fmt.Errorf("ONNX Runtime is already loaded from %s; a process holds one library, so %s cannot be used", lib, explicit)
		}
		return lib, nil
	}
	lib, err := findORTLibrary(explicit)
	if err != nil {
		return "", err
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "API version") {
			return "", fmt.Errorf("ONNX Runtime library %s is too old (vidflow needs 1.24 or newer): %v", lib, err)
		}
		return "", fmt.Errorf("loading ONNX Runtime from %s: %v", lib, err)
	}
	ortState.lib = lib
	return lib, nil
}

// findORTLibrary returns the first candidate that exists. A library named
// explicitly (property or environment) must exist.
func findORTLibrary(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("ONNX Runtime library %q (property ort-library) does not exist", explicit)
		}
		return explicit, nil
	}
	if env := os.Getenv(EnvORTLibrary); env != "" {
		if _, err := os.Stat(env); err != nil {
			return "", fmt.Errorf("ONNX Runtime library %q ($%s) does not exist", env, EnvORTLibrary)
		}
		return env, nil
	}
	tried := ORTLibraryCandidates("")
	for _, c := range tried {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("ONNX Runtime library not found: run scripts/setup-model.sh, or set $%s to libonnxruntime.so.1 (version 1.24 or newer); looked in %s",
		EnvORTLibrary, strings.Join(shorten(tried, 6), ", "))
}

func shorten(list []string, n int) []string {
	if len(list) <= n {
		return list
	}
	return append(list[:n:n], fmt.Sprintf("and %d more", len(list)-n))
}

func sameFile(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA != nil || errB != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return os.SameFile(sa, sb)
}

// modelInfo is what the model file says about its inputs and outputs.
type modelInfo struct {
	inputs, outputs []ort.InputOutputInfo
}

func readModelInfo(path string) (*modelInfo, error) {
	in, out, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime cannot load model %s: %v", path, err)
	}
	return &modelInfo{inputs: in, outputs: out}, nil
}

// newSession opens an ONNX Runtime session for the model.
func newSession(path, input string, outputs []string, provider string, gpuID, threads int, cudaOpts map[string]string) (*ort.DynamicAdvancedSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if threads > 0 {
		if err := opts.SetIntraOpNumThreads(threads); err != nil {
			return nil, err
		}
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, err
	}
	if provider == "cuda" {
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, fmt.Errorf("execution-provider cuda: %v", err)
		}
		defer cuda.Destroy()
		co := map[string]string{"device_id": fmt.Sprint(gpuID)}
		for k, v := range cudaOpts {
			co[k] = v
		}
		if err := cuda.Update(co); err != nil {
			return nil, fmt.Errorf("execution-provider cuda: %v", err)
		}
		if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
			return nil, fmt.Errorf("execution-provider cuda: %v (needs a CUDA-enabled ONNX Runtime build with its CUDA provider library, and CUDA on LD_LIBRARY_PATH)", err)
		}
	}
	s, err := ort.NewDynamicAdvancedSession(path, []string{input}, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("ONNX Runtime cannot open %s: %v", path, err)
	}
	return s, nil
}

// ortVersion is the loaded ONNX Runtime's version.
func ortVersion() string { return ort.GetVersion() }
