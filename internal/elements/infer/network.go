package infer

import (
	"path/filepath"
	"strings"

	"github.com/vidflow/vidflow/internal/config"
)

// checkNetwork checks what the network type needs: a parser that exists
// (a built-in or registered Go parser; a C library's function is an
// error saying so).
func (c *Config) checkNetwork() error {
	switch c.NetworkType {
	case NetworkSegmentation:
		if name := c.ParseSegmentationFuncName; name != "" && !isSegformer(name) {
			return c.missingParser("parse-segmentation-func-name", name, "",
				"DeepStream's default (the most probable class of each pixel of a [C,H,W] or [H,W,C] output) and NvDsInferParseCustomSegformerTAO (class ids)")
		}
	case NetworkInstanceSeg:
		name := c.ParseInstanceMaskFuncName
		if name == "" {
			return c.keyError("network-type", "3 (instance segmentation) needs parse-bbox-instance-mask-func-name, as in DeepStream, which has no default one: "+
				"register a Go parser with vidflow.RegisterInstanceMaskParser(name, fn) and name it there")
		}
		if _, ok := lookupInstanceParser(name); !ok {
			return c.missingParser("parse-bbox-instance-mask-func-name", name, "RegisterInstanceMaskParser", "none")
		}
	case NetworkDetector:
		if name := c.ParseBboxFuncName; name != "" {
			if _, ok := lookupParser(name); !ok {
				return c.missingParser("parse-bbox-func-name", name, "RegisterDetectionParser", strings.Join(builtinNames(), ", "))
			}
		}
	case NetworkClassifier:
		if name := c.ParseClassifierFuncName; name != "" {
			if _, ok := lookupClassifier(name); !ok {
				return c.missingParser("parse-classifier-func-name", name, "RegisterClassifierParser", "DeepStream's default only")
			}
		}
	}
	return nil
}

// missingParser is the error for a parser vidflow does not have: from a
// C library when custom-lib-path is given (ErrCParser), else a name that
// is not registered.
func (c *Config) missingParser(key, name, register, builtin string) error {
	how := "write it in Go and register it under that name with vidflow." + register + "(name, fn) before the pipeline is built " +
		"(docs/infer.md, Parsers), or use network-type 100 with output-tensor-meta and read the outputs in a probe"
	if register == "" {
		how = "remove the key to use the default (export the model with its class probabilities as output, not their argmax), " +
			"or use network-type 100 with output-tensor-meta and read the outputs in a probe"
	}
	if c.CustomLib != "" {
		return c.keyError(key, "%w", config.Reason(ErrCParser, "%q is a function of the C library %s (custom-lib-path), which vidflow cannot load; vidflow has no parser of that name "+
			"(built-in: %s): %s", name, filepath.Base(c.CustomLib), builtin, how))
	}
	return c.keyError(key, "no parser %q (built-in: %s): %s", name, builtin, how)
}

// builtinNames are the names of the built-in detection parsers, vidflow's
// first.
func builtinNames() []string {
	var short, ds []string
	for _, n := range ParserNames() {
		if strings.HasPrefix(strings.ToLower(n), "nvds") {
			ds = append(ds, n)
		} else {
			short = append(short, n)
		}
	}
	return append(short, ds...)
}
