package gst

/*
#cgo pkg-config: gstreamer-1.0
#include <stdlib.h>
#include "decoders.h"
*/
import "C"

import (
	"strings"
	"unsafe"
)

// Ranks of element factories, as GStreamer names them: decodebin picks,
// among the factories of at least RankMarginal that fit, the highest.
const (
	RankNone      = 0
	RankMarginal  = 64
	RankSecondary = 128
	RankPrimary   = 256
)

// HasFactory reports whether GStreamer has an element factory of that name
// (false when GStreamer cannot be initialised).
func HasFactory(name string) bool {
	if Init() != nil {
		return false
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.vf_factory_exists(cname) != 0
}

// FactoryRank returns the rank of an element factory; ok is false when
// there is none.
func FactoryRank(name string) (rank int, ok bool) {
	if Init() != nil {
		return 0, false
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	r := int(C.vf_factory_rank(cname))
	return r, r >= 0
}

// SetFactoryRank changes the rank of an element factory for the whole
// process (decodebin's choice in every pipeline). It reports whether the
// factory exists.
func SetFactoryRank(name string, rank int) bool {
	if Init() != nil || rank < 0 {
		return false
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.vf_factory_set_rank(cname, C.guint(rank)) != 0
}

// PluginFactories returns the element factories of a plugin (e.g.
// "nvcodec") whose klass contains every '/'-separated word of klass (e.g.
// "Decoder/Video"; "" for all), sorted as the registry lists them.
func PluginFactories(plugin, klass string) []string {
	if Init() != nil {
		return nil
	}
	cp, ck := C.CString(plugin), C.CString(klass)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(ck))
	s := goString(C.vf_plugin_factories(cp, ck))
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// DecoderChoice restricts the video decoders decodebin may pick.
type DecoderChoice int

// Decoder choices of WatchDecoders.
const (
	AnyDecoder      DecoderChoice = C.VF_DEC_ANY      // decodebin's own choice, by rank
	NVIDIADecoders  DecoderChoice = C.VF_DEC_NVIDIA   // only the nvcodec plugin's (NVDEC)
	SoftwareDecoder DecoderChoice = C.VF_DEC_SOFTWARE // never the nvcodec plugin's
)

// DecoderInfo is what a pipeline's decodebins did about video decoders.
type DecoderInfo struct {
	// Caps of the (last) video stream a decoder was looked for, serialized;
	// "" when none was looked for yet.
	Caps    string
	Factory string // the decoder factory picked (tried last), "" when none
	Plugin  string // its plugin ("nvcodec", "libav"...)
	// Refused: a decoder that fit was left out because of the choice.
	Refused bool
}

// WatchDecoders makes the decodebins and uridecodebins of the pipeline (the
// ones present now: call it right after Launch, before Play) pick video
// decoders according to choice, and record their pick (see Decoders). It
// returns the number of bins watched. Call it at most once per pipeline.
func (p *Pipeline) WatchDecoders(choice DecoderChoice) (int, error) {
	n := 0
	err := p.use(func() error {
		n = int(C.vf_watch_decoders(p.c, C.int(choice)))
		return nil
	})
	return n, err
}

// Decoders returns the video decoder pick of the pipeline's watched
// decodebins (zero without WatchDecoders).
func (p *Pipeline) Decoders() DecoderInfo {
	var d DecoderInfo
	_ = p.use(func() error {
		var f, pl *C.char
		var refused C.gboolean
		d.Caps = goString(C.vf_decoder_info(p.c, &f, &pl, &refused))
		d.Factory, d.Plugin, d.Refused = goString(f), goString(pl), refused != 0
		return nil
	})
	return d
}
