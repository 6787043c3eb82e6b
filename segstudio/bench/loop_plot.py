"""The loop benchmark's figure: correction fraction per round, one line per strategy (a PNG drawn
with Pillow, so the benchmark needs no plotting library)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14),
          (140, 86, 75)]
SIZE = (720, 440)
MARGIN = (70, 30, 200, 60)   # left, top, right, bottom


def plot(result: dict, path: Path) -> None:
    """Write `result` (what `bench.loop.run` returns) as a line chart to `path`."""
    import io

    from segstudio.core.atomic import atomic_write_bytes

    w, h = SIZE
    left, top, right, bottom = MARGIN
    img = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    x0, y0, x1, y1 = left, top, w - right, h - bottom
    strategies = result["strategies"]
    rounds = max((len(s["rounds"]) for s in strategies.values()), default=1)

    def px(r: float, frac: float) -> tuple[float, float]:
        x = x0 + (r - 1) / max(rounds - 1, 1) * (x1 - x0)
        return x, y1 - frac * (y1 - y0)

    for pct in range(0, 101, 20):
        _, y = px(1, pct / 100)
        draw.line([(x0, y), (x1, y)], fill=(225, 225, 225))
        draw.text((x0 - 8, y), f"{pct}%", fill="black", font=font, anchor="rm")
    for r in range(1, rounds + 1):
        x, _ = px(r, 0)
        draw.line([(x, y1), (x, y1 + 4)], fill="black")
        draw.text((x, y1 + 8), str(r), fill="black", font=font, anchor="mt")
    draw.rectangle([x0, y0, x1, y1], outline="black")
    draw.text(((x0 + x1) / 2, h - 22), f"round ({result['round_images']} images each)",
              fill="black", font=font, anchor="mm")
    draw.text((10, (y0 + y1) / 2), "pixels\ncorrected", fill="black", font=font, anchor="lm")
    title = f"{result['arch']} from {result['start']}: share of each round's pixels corrected"
    draw.text(((x0 + x1) / 2, 14), title, fill="black", font=font, anchor="mm")
    for i, (name, s) in enumerate(strategies.items()):
        color = COLORS[i % len(COLORS)]
        points = [px(r["round"], r["correction_fraction"]) for r in s["rounds"]]
        if len(points) > 1:
            draw.line(points, fill=color, width=3)
        for x, y in points:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=color)
        ly = y0 + 10 + 34 * i
        draw.line([(x1 + 14, ly), (x1 + 40, ly)], fill=color, width=3)
        draw.text((x1 + 46, ly), name, fill="black", font=font, anchor="lm")
        draw.text((x1 + 46, ly + 13), f"ratio {s['ratio']:.2f}", fill=(90, 90, 90), font=font,
                  anchor="lm")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(Path(path), buf.getvalue())
