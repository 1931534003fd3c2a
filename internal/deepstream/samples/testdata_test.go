package samples

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// want is what each committed sample file (testdata/, see its README for
// sources and licences) becomes through the loaders a user would use:
// loaded, loaded but for a model or labels file not in the checkout
// (file-absent: the config itself is accepted whole), or refused for a
// reason that is true and says what to do.
var want = map[string]string{
	"DeepStream-Yolo/config_infer_primary.txt":                                                                                                        NeedTensorRT, // Darknet (custom-network-config)
	"DeepStream-Yolo/config_infer_primary_yoloV2.txt":                                                                                                 NeedTensorRT, // Darknet
	"DeepStream-Yolo/labels.txt":                                                                                                                      Skipped,
	"deepstream_lpr_app/deepstream-lpr-app/config_nvdsanalytics.txt":                                                                                  Loaded,
	"deepstream_lpr_app/deepstream-lpr-app/lpd_yolov4-tiny_us.txt":                                                                                    NeedTensorRT, // .etlt
	"deepstream_lpr_app/deepstream-lpr-app/lpr_config_sgie_us.yml":                                                                                    NeedTensorRT, // .etlt
	"deepstream_lpr_app/deepstream-lpr-app/tracker_config.yml":                                                                                        Loaded,
	"deepstream_python_apps/apps/deepstream-nvdsanalytics/config_nvdsanalytics.txt":                                                                   Loaded,
	"deepstream_python_apps/apps/deepstream-nvdsanalytics/dsnvanalytics_tracker_config.txt":                                                           FileAbsent, // its ll-config-file
	"deepstream_python_apps/apps/deepstream-preprocess-test/config_preprocess.txt":                                                                    Loaded,
	"deepstream_python_apps/apps/deepstream-segmask/dstest_segmask_config.txt":                                                                        NeedTensorRT, // .etlt
	"deepstream_python_apps/apps/deepstream-segmentation/dstest_segmentation_config_semantic.txt":                                                     NeedTensorRT, // UFF
	"deepstream_python_apps/apps/deepstream-ssd-parser/dstest_ssd_nopostprocess.txt":                                                                  NeedTriton,
	"deepstream_python_apps/apps/deepstream-test1/dstest1_pgie_config.txt":                                                                            FileAbsent,
	"deepstream_python_apps/apps/deepstream-test2/config_tracker_NvDCF_perf.yml":                                                                      Loaded,
	"deepstream_python_apps/apps/deepstream-test2/dstest2_pgie_config.txt":                                                                            FileAbsent,
	"deepstream_python_apps/apps/deepstream-test2/dstest2_sgie1_config.txt":                                                                           FileAbsent,
	"deepstream_python_apps/apps/deepstream-test2/dstest2_sgie2_config.txt":                                                                           FileAbsent,
	"deepstream_python_apps/apps/deepstream-test2/dstest2_tracker_config.txt":                                                                         Loaded,
	"deepstream_python_apps/apps/deepstream-test3/config_infer_primary_peoplenet.txt":                                                                 FileAbsent,
	"deepstream_python_apps/apps/deepstream-test3/config_triton_infer_primary_peoplenet.txt":                                                          NeedTriton,
	"deepstream_python_apps/apps/deepstream-test4/cfg_mqtt.txt":                                                                                       Loaded,
	"deepstream_python_apps/apps/deepstream-test4/dstest4_msgconv_config.txt":                                                                         Loaded,
	"deepstream_python_apps/apps/deepstream-test4/dstest4_pgie_config.txt":                                                                            FileAbsent,
	"deepstream_python_apps/apps/runtime_source_add_delete/config_tracker_NvDCF_perf.yml":                                                             Loaded,
	"deepstream_python_apps/apps/runtime_source_add_delete/dstest_tracker_config.txt":                                                                 Loaded,
	"deepstream_reference_apps/deepstream-tracker-3d-multi-view/config_templates/config_pgie_rt_detr.txt":                                             FileAbsent,
	"deepstream_reference_apps/deepstream-tracker-3d-multi-view/config_templates/config_tracker.yml":                                                  Loaded,
	"deepstream_reference_apps/deepstream_parallel_inference_app/tritonclient/sample/configs/apps/bodypose_yolo/tracker0.yml":                         FileAbsent,
	"deepstream_reference_apps/deepstream_parallel_inference_app/tritonclient/sample/configs/yolov4/config_yolov4_infer.txt":                          FileAbsent,
	"deepstream_reference_apps/deepstream_parallel_inference_app/tritonclient/sample/configs/apps/bodypose_yolo/source4_1080p_dec_parallel_infer.yml": Skipped,  // deepstream-parallel-infer's
	"deepstream_reference_apps/legacy_apps/back-to-back-detectors/config_infer_primary_yoloV8_face.txt":                                               NeedCLib, // NvDsInferParseYoloFace
	"deepstream_reference_apps/legacy_apps/deepstream-occupancy-analytics/config/pgie_peoplenet_tao_config.txt":                                       NeedTensorRT,
	"deepstream_reference_apps/legacy_apps/deepstream-retail-analytics/configs/basket_classifier.txt":                                                 NeedTensorRT,
	"deepstream_reference_apps/runtime_source_add_delete/tracker_config.yml":                                                                          Loaded,
	"deepstream_tao_apps/configs/nvinfer/citysemsegformer_tao/pgie_citysemsegformer_tao_config.txt":                                                   FileAbsent, // NvDsInferParseCustomSegformerTAO built in
	"deepstream_tao_apps/configs/nvinfer/lpr_us_tao/sgie_lpr_us_config.txt":                                                                           FileAbsent, // NvDsInferParseCustomNVPlate built in
	"deepstream_tao_apps/configs/nvinfer/mask2former_tao/pgie_mask2former_tao_config.yml":                                                             FileAbsent, // NvDsInferParseCustomMask2Former built in
	"deepstream_tao_apps/configs/nvinfer/peoplenet_transformer_tao/pgie_peoplenet_transformer_tao_config.txt":                                         FileAbsent,
	"deepstream_tao_apps/configs/nvinfer/peoplenet_transformer_tao/pgie_peoplenet_transformer_tao_config.yml":                                         FileAbsent,
	"deepstream_tao_apps/configs/nvinfer/trafficcamnet_tao/pgie_trafficcamnet_config.yml":                                                             FileAbsent,
	"deepstream_tao_apps/configs/triton/trafficcamnet_tao/pgie_trafficcamnet_config.txt":                                                              NeedTriton,
	"deepstream_tao_apps/deepstream_app_tao_configs/nvinfer/config_infer_secondary_vehiclemakenet.txt":                                                FileAbsent,
	"deepstream_tao_apps/deepstream_app_tao_configs/deepstream_app_source1_trafficcamnet.yml":                                                         FileAbsent, // deepstream-app YAML: the CSV's stream
	"deepstream_tao_apps/deepstream_app_tao_configs/source_tao_app.csv":                                                                               Skipped,    // its sources
	"deepstream_tao_apps/configs/app/peoplenet_reidentification.txt":                                                                                  FileAbsent, // [secondary-gie] without a number
}

// reasons are what the refusals must say: the what-to-do of each kind.
var reasons = map[string]string{
	NeedTensorRT: "ONNX",
	NeedTriton:   "write an nvinfer config",
	NeedCLib:     "use network-type 100",
	NoElement:    "vidflow has no",
}

// Every committed sample file has the outcome it should, a refusal says
// what to do, and no file of NVIDIA's has a key vidflow does not know.
func TestSampleFiles(t *testing.T) {
	seen := map[string]bool{}
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(path) == "README.md" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel := Rel("testdata", path)
		seen[rel] = true
		r := Load(path, data)
		w, ok := want[rel]
		if !ok {
			w = FileAbsent // the DeepStream-Yolo ONNX configs, without their models
			if !strings.HasPrefix(rel, "DeepStream-Yolo/config_infer_primary_") {
				t.Errorf("%s: no expected outcome (add it to want): %s", rel, r)
				return nil
			}
		}
		if r.Outcome != w {
			t.Errorf("%s: %s, want %s", rel, r, w)
		}
		if s := reasons[r.Outcome]; s != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), s)) {
			t.Errorf("%s: %s does not say %q", rel, r, s)
		}
		for _, w := range r.Warnings {
			if strings.Contains(w, "unknown") {
				t.Errorf("%s: %s", rel, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range want {
		if !seen[rel] {
			t.Errorf("%s is expected but not in testdata", rel)
		}
	}
}
