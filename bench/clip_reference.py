#!/usr/bin/env python3
"""The reference CLIP ViT (openai/CLIP model.py architecture) in plain PyTorch, timed with
random weights of OpenAI's shapes, for a side-by-side comparison with bench/bench_clip.

A benchmark helper only (not a product dependency): run it with Debian's python3-torch.
  /usr/bin/python3 bench/clip_reference.py --variant ViT-B-32 --batch 32 --threads 2
  /usr/bin/python3 bench/clip_reference.py --check ../shared/fixtures/clip-tiny   # same outputs as the traced reference

Written from the published architecture (pre-LayerNorm residual attention blocks with
nn.MultiheadAttention, QuickGELU, class token, float32 LayerNorm); --check proves it computes
what the traced openai/CLIP model in the fixtures computes.
"""
import argparse, json, resource, statistics, time
import torch
from torch import nn

class LayerNorm(nn.LayerNorm):
    def forward(self, x):
        return super().forward(x.type(torch.float32)).type(x.dtype)

class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)

class Block(nn.Module):
    def __init__(self, width, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, width * 4))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(width * 4, width))
        self.ln_2 = LayerNorm(width)
        self.mask = mask
    def forward(self, x):
        m = self.mask.to(x.dtype) if self.mask is not None else None
        x = x + self.attn(self.ln_1(x), self.ln_1(x), self.ln_1(x), need_weights=False, attn_mask=m)[0]
        return x + self.mlp(self.ln_2(x))

class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(width, heads, mask) for _ in range(layers)])
    def forward(self, x):
        return self.resblocks(x)

class Visual(nn.Module):
    def __init__(self, res, patch, width, layers, heads, out):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn((res // patch) ** 2 + 1, width) * width ** -0.5)
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, out) * width ** -0.5)
    def forward(self, x):
        x = self.conv1(x).reshape(x.shape[0], self.conv1.out_channels, -1).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj

class CLIP(nn.Module):
    def __init__(self, embed, res, vw, vl, patch, ctx, vocab, tw, tl):
        super().__init__()
        self.visual = Visual(res, patch, vw, vl, vw // 64, embed)
        mask = torch.full((ctx, ctx), float("-inf")).triu_(1)
        self.transformer = Transformer(tw, tl, tw // 64, mask)
        self.token_embedding = nn.Embedding(vocab, tw)
        self.positional_embedding = nn.Parameter(torch.empty(ctx, tw).normal_(std=0.01))
        self.ln_final = LayerNorm(tw)
        self.text_projection = nn.Parameter(torch.empty(tw, embed).normal_(std=tw ** -0.5))
        self.logit_scale = nn.Parameter(torch.ones([]) * 4.6052)
    def encode_image(self, image):
        return self.visual(image)
    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

SHAPES = {  # embed, res, vision width, layers, patch, ctx, vocab, text width, layers
    "ViT-B-32": (512, 224, 768, 12, 32, 77, 49408, 512, 12),
    "ViT-B-16": (512, 224, 768, 12, 16, 77, 49408, 512, 12),
    "ViT-L-14": (768, 224, 1024, 24, 14, 77, 49408, 768, 12),
}

def median_rate(fn, items, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return items / statistics.median(times)

def check(fixture):
    ref = json.load(open(f"{fixture}/reference.json"))
    c = ref["config"]
    m = CLIP(c["embed_dim"], c["image_resolution"], c["vision_width"], c["vision_layers"], c["vision_patch_size"],
             c["context_length"], c["vocab_size"], c["text_width"], c["text_layers"]).eval()
    jit = torch.jit.load(f"{fixture}/clip.jit.pt", map_location="cpu")
    m.load_state_dict({k: v.float() for k, v in jit.state_dict().items() if k in m.state_dict()})
    import numpy as np
    worst = 1.0
    with torch.no_grad():
        for img in ref["images"]:
            x = torch.from_numpy(np.load(f"{fixture}/{img['preprocessed']}"))
            a = m.encode_image(x)[0]; b = torch.tensor(img["embedding"])
            worst = min(worst, torch.nn.functional.cosine_similarity(a, b, dim=0).item())
        for t in ref["texts"]:
            tok = torch.zeros(1, c["context_length"], dtype=torch.long); tok[0, :len(t["tokens"])] = torch.tensor(t["tokens"])
            a = m.encode_text(tok)[0]; b = torch.tensor(t["embedding"])
            worst = min(worst, torch.nn.functional.cosine_similarity(a, b, dim=0).item())
    print(json.dumps({"check": fixture, "min_cosine_to_reference": worst}))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="ViT-B-32", choices=SHAPES)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--texts", type=int, default=32)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", help="fixture folder (clip-tiny): compare with the traced reference")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        return check(a.check)
    m = CLIP(*SHAPES[a.variant]).eval()
    x = torch.randn(a.batch, 3, 224, 224)
    text = torch.zeros(a.texts, 77, dtype=torch.long)
    text[:, 0] = 49406; text[:, 1:11] = 400; text[:, 11] = 49407
    with torch.inference_mode():
        ips = median_rate(lambda: m.encode_image(x), a.batch, a.runs, a.warmup)
        tps = median_rate(lambda: m.encode_text(text), a.texts, a.runs, a.warmup) if a.texts else 0.0
    print(json.dumps({"impl": "pytorch-reference", "torch": torch.__version__, "variant": a.variant, "batch": a.batch,
                      "threads": a.threads, "images_per_s": ips, "texts": a.texts, "texts_per_s": tps,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))

if __name__ == "__main__":
    main()
