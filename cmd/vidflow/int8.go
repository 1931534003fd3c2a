package main

import (
	"os"
	"path/filepath"

	"github.com/vidflow/vidflow/internal/config"
)

// The detector `vidflow run` uses by default on the CPU: the INT8 variant
// (configs/config_infer_primary_int8.yml, docs/infer.md "INT8") when
// scripts/setup-model.sh has made its model, the float one otherwise or
// with -float.
const (
	floatConfig = "configs/config_infer_primary.yml"
	int8Config  = "configs/config_infer_primary_int8.yml"
)

// chooseDetector returns the config to run: the one given with -config
// (explicit), else the INT8 config when its model and config file are
// there and float is not asked for, else the float config.
func chooseDetector(cfg string, explicit, float bool) string {
	if explicit || float || cfg != floatConfig {
		return cfg
	}
	model := filepath.Join(config.CacheDir(), "models", "centernet", "centernet_int8.onnx")
	for _, p := range []string{model, int8Config} {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return cfg
		}
	}
	return int8Config
}
