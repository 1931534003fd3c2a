package cluster

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vidflow/vidflow/internal/service"
)

// The configs of deploy/ load: the three local nodes of docs/cluster.md
// and the Kubernetes ConfigMap's, with the pod's name and IP expanded.
func TestDeployConfigs(t *testing.T) {
	ids := map[string]bool{}
	for _, id := range []string{"a", "b", "c"} {
		cfg, err := service.LoadConfig(filepath.Join("..", "..", "deploy", "local", "node-"+id+".yml"))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Cluster == nil || cfg.Cluster.NodeID != "node-"+id || ids[cfg.Cluster.Advertise] {
			t.Fatalf("node-%s.yml: cluster %+v", id, cfg.Cluster)
		}
		ids[cfg.Cluster.Advertise] = true
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "k8s", "vidflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var serve string
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if dec.Decode(&doc) != nil {
			break
		}
		if doc.Kind == "ConfigMap" {
			serve = doc.Data["serve.yml"]
		}
	}
	if serve == "" {
		t.Fatal("deploy/k8s/vidflow.yaml: no ConfigMap with serve.yml")
	}
	t.Setenv("POD_NAME", "vidflow-5d8f7c9b6-x2k4q")
	t.Setenv("POD_IP", "10.1.2.3")
	cfg, err := service.ParseConfig([]byte(serve), t.TempDir())
	if err != nil {
		t.Fatalf("the ConfigMap's serve.yml: %v", err)
	}
	if c := cfg.Cluster; c == nil || c.NodeID != "vidflow-5d8f7c9b6-x2k4q" || c.Advertise != "http://10.1.2.3:9000" || len(c.Etcd) != 3 {
		t.Errorf("the ConfigMap's cluster section: %+v", cfg.Cluster)
	}
}
