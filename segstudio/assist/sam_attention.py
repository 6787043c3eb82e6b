"""SAM's image-encoder attention computed in bounded pieces on a CPU.

segment_anything's `Attention.forward` builds the whole attention map at once: in ViT-B's four
global blocks that is 12 heads x 4096 x 4096 floats, 805 MB, and as much again for its
softmax; in the windowed blocks 25 windows x 12 heads x 196 x 196, 46 MB. Buffers that large
are mapped and unmapped by the allocator for every block, and the kernel zero-fills each page
and holds the process's memory map while it unmaps them: on the 2-core CPU the encoder spent
as much time in the kernel as in its own work, and every other thread of the window (the GUI
thread included) waited on that memory map (a 166 ms GUI stall in `bench ui --sam`).

Here the same arithmetic runs over slices of heads (windowed blocks) or of query rows (global
blocks) whose attention map stays under PIECE_BYTES, small enough to be reused from the heap:
on a random ViT-B, one 480x360 image encoded in 16.3 s instead of 33.7 s with the same
features bit for bit, and a 10 ms Python timer beside it was at most 29 ms late instead of
54 ms. Accelerators keep the original (one large kernel is what they are good at).
"""

from __future__ import annotations

import torch
from segment_anything.modeling.image_encoder import Attention, get_rel_pos

PIECE_BYTES = 16 * 2**20    # one slice's attention map: below glibc's largest mmap threshold


class PiecewiseAttention(Attention):
    """segment_anything's Attention with the same parameters; `forward` computes the same
    result in bounded slices on a CPU."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            return super().forward(x)
        b, h, w, _ = x.shape
        n = h * w
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.reshape(3, b * self.num_heads, n, -1).unbind(0)
        heads, dim = q.shape[0], q.shape[2]
        one_map = n * n * q.element_size()
        # Whole maps for as many heads (x windows) as fit; else one head at a time, in rows.
        per_slice = max(1, min(heads, PIECE_BYTES // one_map))
        rows = h if one_map <= PIECE_BYTES else max(1, PIECE_BYTES // (w * n * q.element_size()))
        if self.use_rel_pos:
            rel_pos_h = get_rel_pos(h, h, self.rel_pos_h)
            rel_pos_w = get_rel_pos(w, w, self.rel_pos_w)
        keys = k.transpose(-2, -1)
        out = torch.empty_like(q)
        for b0 in range(0, heads, per_slice):
            b1 = min(heads, b0 + per_slice)
            for r0 in range(0, h, rows):
                r1 = min(h, r0 + rows)
                qs = q[b0:b1, r0 * w : r1 * w]
                attn = (qs * self.scale) @ keys[b0:b1]
                if self.use_rel_pos:
                    # add_decomposed_rel_pos for these query rows.
                    r_q = qs.reshape(b1 - b0, r1 - r0, w, dim)
                    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rel_pos_h[r0:r1])
                    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rel_pos_w)
                    attn = (attn.view(b1 - b0, r1 - r0, w, h, w) + rel_h[..., None]
                            + rel_w[..., None, :]).view(b1 - b0, (r1 - r0) * w, n)
                out[b0:b1, r0 * w : r1 * w] = attn.softmax(dim=-1) @ v[b0:b1]
        x = out.view(b, self.num_heads, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
        return self.proj(x)


def install(image_encoder: torch.nn.Module) -> None:
    """Every attention of `image_encoder` (segment_anything's ImageEncoderViT) computes in
    slices from now on; parameters and state-dict keys are unchanged."""
    for module in image_encoder.modules():
        if type(module) is Attention:
            module.__class__ = PiecewiseAttention
