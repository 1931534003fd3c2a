package service

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow/internal/elements/infer"
)

// On-the-fly model update over REST (nvinfer's model-engine-file /
// config-file-path change; DeepStream has no REST path for it):
//
//	POST /api/v1/infer/model {"model":{"onnx_file":"/models/v2.onnx"}}
//	POST /api/v1/infer/model {"model":{"config_file":"/models/v2.yml"}}
//
// The file must be in rest.allow-folders, as stream/add's files must.
// The answer comes once the new model has taken over, or with why it was
// refused (the running model goes on).

type modelBody struct {
	Model *struct {
		ONNXFile   string `json:"onnx_file"`
		ConfigFile string `json:"config_file"`
	} `json:"model"`
}

const maxModelPath = 4096

// modelRoutes adds the model-update endpoint.
func (s *Service) modelRoutes(g *guard, route func(pattern, name string, open bool, methods []string, h http.HandlerFunc)) {
	route("/api/v1/infer/model", "infer/model", false, []string{http.MethodPost}, func(w http.ResponseWriter, r *http.Request) {
		s.handleModel(g, w, r)
	})
}

func (s *Service) handleModel(g *guard, w http.ResponseWriter, r *http.Request) {
	const fail = "MODEL_UPDATE_FAIL"
	var b modelBody
	if err := decode(w, r, &b); err != nil {
		writeError(w, err, fail)
		return
	}
	want := `(want {"model":{"onnx_file":"/path/model.onnx"}} or {"model":{"config_file":"/path/config.yml"}})`
	switch m := b.Model; {
	case m == nil:
		writeError(w, errorf(http.StatusBadRequest, "missing_field", `missing "model" %s`, want), fail)
		return
	case (m.ONNXFile == "") == (m.ConfigFile == ""):
		writeError(w, errorf(http.StatusBadRequest, "missing_field", `give one of "model.onnx_file" and "model.config_file" %s`, want), fail)
		return
	case len(m.ONNXFile) > maxModelPath || len(m.ConfigFile) > maxModelPath:
		writeError(w, errorf(http.StatusBadRequest, "bad_field", "the path is longer than %d bytes", maxModelPath), fail)
		return
	}
	path, prop := b.Model.ConfigFile, "config-file-path"
	if b.Model.ONNXFile != "" {
		path, prop = b.Model.ONNXFile, "model-engine-file"
	}
	if err := g.checkModelFile(path); err != nil {
		writeError(w, err, fail)
		return
	}
	if s.cfg.Infer == nil {
		writeError(w, errorf(http.StatusConflict, "no_infer", "this service runs no model (no infer in its config)"), fail)
		return
	}
	if err := s.p.SetProperty(InferElement, prop, path); err != nil {
		code, status := "model_refused", http.StatusUnprocessableEntity
		if errors.Is(err, infer.ErrUpdateRunning) {
			code, status = "update_running", http.StatusConflict
		}
		writeError(w, errorf(status, code, "%v", err), fail)
		return
	}
	s.addEvent("model updated over REST: %s", path)
	s.log.Info("model updated", "file", path)
	writeJSON(w, http.StatusOK, map[string]any{"status": statusLine(200), "reason": "MODEL_UPDATE_SUCCESS", "file": path})
}

// checkModelFile is the allow-list of model files: absolute paths in
// rest.allow-folders, symbolic links resolved, regular files; refusals
// alike whether the file exists or not.
func (g *guard) checkModelFile(path string) *Error {
	refused := errorf(http.StatusForbidden, "path_not_allowed", "model files outside the allowed folders are refused (rest.allow-folders)")
	p := filepath.Clean(path)
	if !filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
		return errorf(http.StatusUnprocessableEntity, "bad_path", "the model path must be absolute")
	}
	if _, allowed, regular := g.allowedFile(p); !allowed {
		return refused
	} else if !regular {
		return errorf(http.StatusUnprocessableEntity, "bad_path", "%q is not a readable file", p)
	}
	return nil
}
