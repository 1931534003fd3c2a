// vidflow's image kernels. vf_preprocess: one image of a batch, from a frame in
// device memory (packed RGB/RGBA/BGR(x)/GRAY8, or NV12), into its slot of
// the model's input. It computes exactly what preprocess.go's CPU
// preprocessor computes, in the same order of float operations (compiled
// with --fmad=false so that no multiply-add is fused): source taps in
// double precision, bilinear weights and values in float32, then
// scale*(v - offset) + bias, converted as Go converts (truncation; bias
// 0.5 rounds bytes). One thread writes every channel of one output pixel;
// pixels outside the scaled image get the padding value of a black pixel.
//
// NV12 pixels are converted to 8-bit RGB first, as GStreamer's videoconvert
// would before the CPU path sees them: limited range, the chroma sample of
// each 2x2 block repeated (not interpolated), matrix 0 BT.601, 1 BT.709,
// 2 BT.2020, rounded to the nearest byte.

// The coefficients of V in R, U in G and U in B, per matrix.
struct vf_coef {
	float vr, ug, ub;
};

__device__ static const vf_coef vf_k[3] = {{1.596027f, 0.391762f, 2.017232f},
					    {1.792741f, 0.213249f, 2.112402f},
					    {1.678674f, 0.187326f, 2.141772f}};
// The coefficient of V in G, per matrix.
__device__ static const float vf_kvg[3] = {0.812968f, 0.532909f, 0.650424f};

__device__ static unsigned char vf_byte(float x) {
	x = fminf(fmaxf(x, 0.f), 255.f);
	return (unsigned char)(int)(x + 0.5f);
}

// vf_pixel loads the pixel at (x, y) of the source: its bytes (packed),
// or R, G, B converted from NV12.
__device__ static void vf_pixel(const unsigned char *src0, int pitch0, const unsigned char *src1, int pitch1, int nv12,
				int sc, int matrix, int x, int y, unsigned char *px) {
	if (!nv12) {
		const unsigned char *p = src0 + (long long)y * pitch0 + (long long)x * sc;
		for (int k = 0; k < sc; k++)
			px[k] = p[k];
		return;
	}
	float Y = (float)src0[(long long)y * pitch0 + x];
	const unsigned char *uv = src1 + (long long)(y >> 1) * pitch1 + (x >> 1) * 2;
	float U = (float)uv[0] - 128.f, V = (float)uv[1] - 128.f;
	float c = 1.164383f * (Y - 16.f);
	vf_coef k = vf_k[matrix];
	px[0] = vf_byte(c + k.vr * V);
	px[1] = vf_byte(c - k.ug * U - vf_kvg[matrix] * V);
	px[2] = vf_byte(c + k.ub * U);
}

// vf_tap is preprocess.go's taps: the two source pixels of output pixel o
// and the weight of the second.
__device__ static int vf_tap(int o, double f, int n, int bilinear, int *j, float *w) {
	if (!bilinear) {
		int i = min((int)(((double)o + 0.5) * f), n - 1);
		*j = i;
		*w = 0.f;
		return i;
	}
	double s = fmax(((double)o + 0.5) * f - 0.5, 0.0);
	int i = min((int)s, n - 1);
	*j = min(i + 1, n - 1);
	*w = (float)(s - (double)i);
	return i;
}

__device__ static float vf_bilerp(float a, float b, float c, float d, float wx, float wy) {
	float t = a + wx * (b - a);
	float u = c + wx * (d - c);
	return t + wy * (u - t);
}

__device__ static void vf_store(void *dst, long long i, int out8, float v) {
	if (out8)
		((unsigned char *)dst)[i] = (unsigned char)(int)v;
	else
		((float *)dst)[i] = v;
}

// k0..k2: the source byte of each model channel (for luma: of R, G, B);
// (rx, ry, rw, rh): the region of the source; dw x dh at (padX, padY):
// where it lands in the W x H x C input; luma: a one-channel model fed a
// colour source.
extern "C" __global__ void vf_preprocess(const unsigned char *src0, int pitch0, const unsigned char *src1, int pitch1,
					 int nv12, int sc, int matrix, int k0, int k1, int k2, int rx, int ry, int rw, int rh,
					 int dw, int dh, int padX, int padY, int W, int H, int C, int nhwc, int luma,
					 int bilinear, float scale, float o0, float o1, float o2, float bias, int out8,
					 void *dst) {
	int x = blockIdx.x * blockDim.x + threadIdx.x;
	int y = blockIdx.y * blockDim.y + threadIdx.y;
	if (x >= W || y >= H)
		return;
	float off[3] = {o0, o1, o2};
	int ks[3] = {k0, k1, k2};
	long long plane = (long long)W * H;
	long long at = (long long)y * W + x;
	int ox = x - padX, oy = y - padY;
	if (ox < 0 || oy < 0 || ox >= dw || oy >= dh) {
		for (int c = 0; c < C; c++)
			vf_store(dst, nhwc ? at * C + c : c * plane + at, out8, scale * (0.f - off[c]) + bias);
		return;
	}
	int x1, y1;
	float wx, wy;
	int x0 = vf_tap(ox, (double)rw / (double)dw, rw, bilinear, &x1, &wx);
	int y0 = vf_tap(oy, (double)rh / (double)dh, rh, bilinear, &y1, &wy);
	unsigned char p00[4], p01[4], p10[4], p11[4];
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, rx + x0, ry + y0, p00);
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, rx + x1, ry + y0, p01);
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, rx + x0, ry + y1, p10);
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, rx + x1, ry + y1, p11);
	if (luma) {
		float ch[3];
		for (int c = 0; c < 3; c++) {
			int k = ks[c];
			ch[c] = vf_bilerp(p00[k], p01[k], p10[k], p11[k], wx, wy);
		}
		float v = 0.299f * ch[0] + 0.587f * ch[1] + 0.114f * ch[2];
		vf_store(dst, at, out8, scale * (v - off[0]) + bias);
		return;
	}
	for (int c = 0; c < C; c++) {
		int k = ks[c];
		float v = vf_bilerp(p00[k], p01[k], p10[k], p11[k], wx, wy);
		vf_store(dst, nhwc ? at * C + c : c * plane + at, out8, scale * (v - off[c]) + bias);
	}
}

// vf_tile scales one frame (read as vf_preprocess reads it: packed with sc
// bytes a pixel, or NV12; k0..k2 the source byte of R, G and B) of sw x sh
// into the tw x th tile at (tx, ty) of a packed RGB (dc 3) or RGBA (dc 4,
// alpha 255) image of dpitch bytes a row, bilinearly or nearest, as the
// CPU tiler does. One thread writes one output pixel.
extern "C" __global__ void vf_tile(const unsigned char *src0, int pitch0, const unsigned char *src1, int pitch1, int nv12,
				   int sc, int matrix, int k0, int k1, int k2, int sw, int sh, unsigned char *dst, int dpitch,
				   int dc, int tx, int ty, int tw, int th, int bilinear) {
	int x = blockIdx.x * blockDim.x + threadIdx.x;
	int y = blockIdx.y * blockDim.y + threadIdx.y;
	if (x >= tw || y >= th)
		return;
	int x1, y1;
	float wx, wy;
	int x0 = vf_tap(x, (double)sw / (double)tw, sw, bilinear, &x1, &wx);
	int y0 = vf_tap(y, (double)sh / (double)th, sh, bilinear, &y1, &wy);
	unsigned char p00[4], p01[4], p10[4], p11[4];
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, x0, y0, p00);
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, x1, y0, p01);
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, x0, y1, p10);
	vf_pixel(src0, pitch0, src1, pitch1, nv12, sc, matrix, x1, y1, p11);
	int ks[3] = {k0, k1, k2};
	unsigned char *out = dst + (long long)(ty + y) * dpitch + (long long)(tx + x) * dc;
	for (int c = 0; c < 3; c++) {
		int k = ks[c];
		out[c] = vf_byte(vf_bilerp(p00[k], p01[k], p10[k], p11[k], wx, wy));
	}
	if (dc == 4)
		out[3] = 255;
}
