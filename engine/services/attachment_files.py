"""What an uploaded file is: its type sniffed from its bytes (never its name), a safe display name, a thumbnail.

Accepted: photos (JPEG, PNG, GIF, WebP, HEIC), PDF, Word and Excel (old and new formats), and plain text
(CSV or TXT). Plain text has no magic number: a file with none is accepted as text only when its name ends in
.csv or .txt, it decodes as UTF-8 (or GB18030, as Excel in China saves CSV) without control characters, and it
does not begin like HTML, SVG or XML — so a web page named ``invoice.csv`` is still refused.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings

import filetype

from engine.errors import InvalidInput

# media type -> the extension a display name gets
ACCEPTED = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "image/heic": "heic",
    "application/pdf": "pdf",
    "application/msword": "doc", "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/csv": "csv", "text/plain": "txt",
}
# Shown in the browser rather than downloaded (served with nosniff and the sniffed type).
INLINE = frozenset({"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp"})
# Pillow decodes these for a thumbnail (HEIC needs a plug-in we do not ship: no thumbnail).
THUMBNAILED = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
THUMBNAIL_SIZE = (240, 240)
MAX_PIXELS = 50_000_000  # a decompression bomb is refused beyond this (a 50-megapixel photo is fine)
MAX_NAME = 200
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = re.compile(rb"^\s*(<!doctype|<html|<svg|<\?xml|<script|<head|<body|<iframe)", re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\"*:<>?|]")


def _text_type(content: bytes, filename: str) -> str | None:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in {"csv", "txt"} or _MARKUP.match(content[:512]):
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if _TEXT_CONTROL.search(text) else ("text/csv" if extension == "csv" else "text/plain")
    return None


def sniff(content: bytes, filename: str) -> str:
    """Return the media type of ``content`` judged by its bytes; InvalidInput naming what it is when not accepted."""
    if not content:
        raise InvalidInput("the file is empty", zh="文件是空的")
    kind = filetype.guess(content)
    if kind is not None:
        if kind.mime in ACCEPTED:
            return str(kind.mime)
        raise InvalidInput(f"files of type {kind.mime} (.{kind.extension}) may not be attached: "
                           "attach photos, PDF, Word, Excel, CSV or text files",
                           zh=f"不能上传 {kind.mime}（.{kind.extension}）类型的文件：请上传照片、PDF、Word、Excel、CSV 或文本文件")
    text = _text_type(content, filename)
    if text is None:
        raise InvalidInput("the file's type could not be recognised from its content (it is not a photo, PDF, "
                           "Word, Excel, CSV or text file)", zh="无法从文件内容识别其类型（不是照片、PDF、Word、Excel、CSV 或文本文件）")
    return text


def display_name(filename: str, media_type: str) -> str:
    """Return a safe display name: no path, no control or reserved characters, the extension of its real type."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = stem.strip(" .")[:MAX_NAME] or "attachment"
    if stem.startswith(("=", "+", "-", "@")):
        stem = "_" + stem  # a spreadsheet would read it as a formula in the audit export
    return f"{stem}.{ACCEPTED[media_type]}"


def thumbnail(content: bytes, media_type: str) -> bytes | None:
    """Return a JPEG thumbnail of an image (None for other files); InvalidInput for a decompression bomb or a broken image."""
    if media_type not in THUMBNAILED:
        return None
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InvalidInput(f"the image is too large to open ({width}×{height} pixels; "
                                       f"at most {MAX_PIXELS // 1_000_000} megapixels)",
                                       zh=f"图片太大，无法打开（{width}×{height} 像素；最多 {MAX_PIXELS // 1_000_000} 百万像素）")
                image.draft("RGB", THUMBNAIL_SIZE)  # JPEG: decode at a fraction of the size
                image.thumbnail(THUMBNAIL_SIZE)
                picture = image.convert("RGBA") if image.mode in {"P", "LA", "RGBA", "PA"} else image.convert("RGB")
                if picture.mode == "RGBA":
                    background = Image.new("RGB", picture.size, (255, 255, 255))
                    background.paste(picture, mask=picture.getchannel("A"))
                    picture = background
                out = io.BytesIO()
                picture.save(out, "JPEG", quality=80)
                return out.getvalue()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput("the image is too large to open (it looks like a decompression bomb)",
                           zh="图片太大，无法打开（疑似解压炸弹）") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"the image could not be read: {exc}", zh=f"无法读取图片：{exc}") from exc
