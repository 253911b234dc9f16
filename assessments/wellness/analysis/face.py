"""The face still: quality checks only. Expression estimation needs a small model shipped inside a pip
package (no download); none is installed in this environment (no OpenCV, MediaPipe, ONNX Runtime), so
no expression is guessed and the visual modality never enters the fusion. What we can check with
Pillow is whether the photo could have been analysed: readable, big enough, not too dark or bright.
"""

from __future__ import annotations

import io

from PIL import Image, ImageStat, UnidentifiedImageError

MIN_SIDE = 160
DARK, BRIGHT = 40, 225


def analyse(data: bytes) -> dict:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            width, height = img.size
            luminance = ImageStat.Stat(img.convert("L")).mean[0]
    except (UnidentifiedImageError, OSError, ValueError):
        return {"quality": "unreadable", "facial_expressions": {}, "micro_expressions": {},
                "emotional_indicators": {}, "visual_wellness_score": None}
    if min(width, height) < MIN_SIDE:
        quality = "too_small"
    elif luminance < DARK:
        quality = "too_dark"
    elif luminance > BRIGHT:
        quality = "too_bright"
    else:
        quality = "no_model"
    return {
        "quality": quality,
        "facial_expressions": {"primary_emotions": [], "expression_changes": [], "overall_expressiveness": None},
        "micro_expressions": {},
        "emotional_indicators": {"image": {"width": width, "height": height, "mean_luminance": round(luminance, 1)},
                                 "note": "No expression model is installed: nothing is inferred from the face."},
        "visual_wellness_score": None,
    }
