package infer

import (
	"fmt"
	"strings"
	"sync"

	"github.com/vidflow/vidflow/bbox"
	"github.com/vidflow/vidflow/media"
)

// ClassifierParser is a classifier's output parser written in Go, in place
// of DeepStream's C function of parse-classifier-func-name
// (NvDsInferClassiferParseCustomFunc): it reads the output layers of one
// object (or frame) and appends the attributes it finds to dst.
// info.Threshold is classifier-threshold; NetWidth and NetHeight are the
// network's input size. The element sets each attribute's ComponentID.
type ClassifierParser func(layers []bbox.Layer, info bbox.Info, dst []media.Classification) ([]media.Classification, error)

// defaultClassifier are the names under which configs ask for
// DeepStream's default classifier parser (each class probability against
// classifier-threshold), which vidflow has built in.
var defaultClassifier = map[string]bool{"": true, "nvdsinferclassiferparsecustomsoftmax": true}

var classifierRegistry = struct {
	sync.RWMutex
	m map[string]ClassifierParser
}{m: map[string]ClassifierParser{"nvdsinferparsecustomnvplate": parseNVPlate}}

// RegisterClassifierParser makes a classifier parser available to
// configs under name (parse-classifier-func-name; matched without regard
// to case). Names are process-wide; registering one twice is an error.
func RegisterClassifierParser(name string, fn ClassifierParser) error {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" || fn == nil {
		return fmt.Errorf("RegisterClassifierParser: need a name and a function")
	}
	classifierRegistry.Lock()
	defer classifierRegistry.Unlock()
	if _, dup := classifierRegistry.m[key]; dup || defaultClassifier[key] {
		return fmt.Errorf("RegisterClassifierParser: a parser named %q is already registered", name)
	}
	classifierRegistry.m[key] = fn
	return nil
}

// lookupClassifier finds the classifier parser a config names: nil and
// true for DeepStream's default.
func lookupClassifier(name string) (ClassifierParser, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	if defaultClassifier[key] {
		return nil, true
	}
	classifierRegistry.RLock()
	defer classifierRegistry.RUnlock()
	fn, ok := classifierRegistry.m[key]
	return fn, ok
}

// classifyCustom runs a registered classifier parser; a panic in it is an
// error, not a crash.
func (r *runner) classifyCustom(dst []media.Classification) (out []media.Classification, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("classifier parser %s panicked: %v", r.cfg.ParseClassifierFuncName, v)
		}
	}()
	info := bbox.Info{NetWidth: r.plan.w, NetHeight: r.plan.h, Threshold: r.cfg.ClassifierThreshold}
	out, err = r.classParser(r.layers, info, dst)
	if err != nil {
		return nil, fmt.Errorf("classifier parser %s: %v", r.cfg.ParseClassifierFuncName, err)
	}
	for i := len(dst); i < len(out); i++ {
		out[i].ComponentID = r.cfg.UniqueID
	}
	return out, nil
}
