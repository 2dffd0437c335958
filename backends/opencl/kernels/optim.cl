/*
 * optim.cl - optimizer steps over one flat parameter buffer, and clipping by total norm.
 */

/* torch.optim.SGD:  g = grad + wd p;  momentum: buf = first ? g : mu buf + (1 - dampening) g;
 *   g = nesterov ? g + mu buf : buf;  p -= lr g. */
__kernel void k_sgd(ulong n, __global float *p, ulong po, __global const float *grad, ulong go, __global float *buf,
                    ulong bo, float lr, float mu, float dampening, int nesterov, float wd, int first) {
    ELEMENT(i, n);
    float g = grad[go + i];
    const float pv = p[po + i];
    if (wd != 0.0f) g += wd * pv;
    if (mu != 0.0f) {
        const float b = first ? g : mu * buf[bo + i] + (1.0f - dampening) * g;
        buf[bo + i] = b;
        g = nesterov ? g + mu * b : b;
    }
    p[po + i] = pv - lr * g;
}

/* torch.optim.Adam / AdamW:  decoupled: p *= 1 - lr wd, else g = grad + wd p;
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= step_size * (m / (sqrt(v) / bc2_sqrt + eps)),
 * step_size = lr / (1 - b1^step) and bc2_sqrt = sqrt(1 - b2^step) computed by the host in double. */
__kernel void k_adam(ulong n, __global float *p, ulong po, __global const float *grad, ulong go, __global float *m,
                     ulong mo, __global float *v, ulong vo, float lr, float b1, float b2, float eps, float wd,
                     int decoupled, float step_size, float bc2_sqrt) {
    ELEMENT(i, n);
    float pv = p[po + i];
    float g = grad[go + i];
    if (decoupled) pv *= 1.0f - lr * wd;
    else if (wd != 0.0f) g += wd * pv;
    const float mv = b1 * m[mo + i] + (1.0f - b1) * g;
    const float vv = b2 * v[vo + i] + (1.0f - b2) * g * g;
    m[mo + i] = mv;
    v[vo + i] = vv;
    p[po + i] = pv - step_size * (mv / (sqrt(vv) / bc2_sqrt + eps));
}

/* clip_grad_norm_: coef = min(1, max_norm / (sqrt(sumsq) + 1e-6));  g *= coef (sumsq read on the device). */
__kernel void k_clip_norm(ulong n, __global float *g, ulong go, __global const float *sumsq, ulong so,
                          float max_norm) {
    float coef = max_norm / (sqrt(sumsq[so]) + 1e-6f);
    if (coef > 1.0f) coef = 1.0f;    /* not fmin: a NaN norm must give NaN gradients, as torch */
    ELEMENT(i, n);
    g[go + i] *= coef;
}
