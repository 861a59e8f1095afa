"""Convert a .docx to PDF with LibreOffice (``soffice --headless --convert-to pdf``).

Every conversion runs in its own temporary directory with a private LibreOffice profile
(``-env:UserInstallation``), so conversions can run in parallel and never touch the service
user's home. The fresh profile costs LibreOffice a few seconds at start-up.

Fonts: the 公文 faces (方正小标宋简体, 仿宋_GB2312, 楷体_GB2312, 黑体, 宋体) are rarely installed
on a Linux server. LibreOffice does not use the .docx font table's ``w:altName``; it asks
fontconfig, which without help maps every unknown Chinese name to the default sans face
(Noto Sans CJK SC with ``fonts-noto-cjk``), making the body look like 黑体. The conversion
therefore gets a private fontconfig file (``$XDG_CONFIG_HOME/fontconfig/fonts.conf``, read by
the system configuration through ``conf.d/50-user.conf``) that accepts, after the requested
name, the usual Windows/WPS names of the same face and then the closest Noto face:

==================  =====================================  ==========================
requested           tried next                             fallback (fonts-noto-cjk)
==================  =====================================  ==========================
方正小标宋简体        FZXiaoBiaoSong-B05S, 方正小标宋_GBK       Noto Serif CJK SC **Bold**
仿宋_GB2312          仿宋, FangSong, STFangsong              Noto Serif CJK SC
楷体_GB2312          楷体, KaiTi, STKaiti, AR PL KaitiM GB,   Noto Serif CJK SC
                    AR PL UKai CN
宋体                 SimSun, 新宋体, NSimSun, STSong          Noto Serif CJK SC
黑体                 SimHei, STHeiti                         Noto Sans CJK SC
==================  =====================================  ==========================

A real face wins whenever it is installed (e.g. fonts copied into /usr/local/share/fonts).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Final

SOFFICE_NAMES: Final = ("soffice", "libreoffice")

# Free 楷体 faces from Debian (fonts-arphic-gkai00mp, fonts-arphic-ukai): without one of them
# （一） headings fall back to the same serif face as the body text.
_FREE_KAI: Final = ("AR PL KaitiM GB", "AR PL UKai CN")
# (requested family, families to accept next, fallback, make it bold)
_FONT_SUBSTITUTES: Final = (
    ("方正小标宋简体", ("FZXiaoBiaoSong-B05S", "方正小标宋_GBK"), "Noto Serif CJK SC", True),
    ("仿宋_GB2312", ("仿宋", "FangSong", "STFangsong"), "Noto Serif CJK SC", False),
    ("仿宋", ("FangSong", "STFangsong"), "Noto Serif CJK SC", False),
    ("楷体_GB2312", ("楷体", "KaiTi", "STKaiti", *_FREE_KAI), "Noto Serif CJK SC", False),
    ("楷体", ("KaiTi", "STKaiti", *_FREE_KAI), "Noto Serif CJK SC", False),
    ("宋体", ("SimSun", "新宋体", "NSimSun", "STSong"), "Noto Serif CJK SC", False),
    ("黑体", ("SimHei", "STHeiti"), "Noto Sans CJK SC", False),
)


class PdfConversionError(RuntimeError):
    """LibreOffice failed, produced nothing, or ran past the timeout."""


def libreoffice_binary() -> str | None:
    """Absolute path of ``soffice`` (or ``libreoffice``) on PATH, or None."""
    for name in SOFFICE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def libreoffice_available() -> bool:
    return libreoffice_binary() is not None


def fontconfig_substitutions() -> str:
    """The private fonts.conf described in the module docstring."""
    rules: list[str] = []
    for family, accept, fallback, bold in _FONT_SUBSTITUTES:
        accepted = "".join(f"<family>{name}</family>" for name in (*accept, fallback))
        rules.append(
            f'  <alias binding="same"><family>{family}</family><accept>{accepted}</accept></alias>'
        )
        if bold:
            # 小标宋 is a heavy 宋体: ask for bold. LibreOffice takes the weight of the face
            # fontconfig matched, so a real (regular-only) 小标宋 is not emboldened.
            rules.append(
                '  <match target="pattern">'
                f'<test name="family"><string>{family}</string></test>'
                '<edit name="weight" mode="assign"><const>bold</const></edit></match>'
            )
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n" + "\n".join(rules) + "\n</fontconfig>\n"
    )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # soffice (oosplash) starts soffice.bin; both live in the session started for them.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def docx_to_pdf(docx: bytes, *, timeout: int = 60) -> bytes | None:
    """Convert .docx bytes to PDF bytes.

    Returns None when LibreOffice is not installed; raises :class:`PdfConversionError` when
    the conversion fails or takes longer than ``timeout`` seconds (the process group is killed).
    """
    binary = libreoffice_binary()
    if binary is None:
        return None
    with tempfile.TemporaryDirectory(prefix="xiaowu-pdf-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        source = root / "document.docx"
        source.write_bytes(docx)
        outdir = root / "out"
        outdir.mkdir()
        home = root / "home"
        fontconfig_dir = home / ".config" / "fontconfig"
        fontconfig_dir.mkdir(parents=True)
        (fontconfig_dir / "fonts.conf").write_text(fontconfig_substitutions(), encoding="utf-8")
        env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "TMPDIR": str(root),
        }
        env.pop("FONTCONFIG_FILE", None)
        command = [
            binary,
            f"-env:UserInstallation={(root / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--nodefault",
            "--nofirststartwizard",
            "--nolockcheck",
            "--nologo",
            "--norestore",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            str(outdir),
            str(source),
        ]
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell, our own temp files
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=root,
            env=env,
            start_new_session=True,
        )
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            raise PdfConversionError(f"PDF 转换超时（{timeout} 秒）。") from None
        finally:
            # Anything soffice left behind in its session (it normally exits cleanly).
            _kill_group(process)
        result = outdir / "document.pdf"
        if process.returncode != 0 or not result.is_file():
            detail = stderr.decode("utf-8", "replace").strip()[-500:]
            raise PdfConversionError(
                f"PDF 转换失败（LibreOffice 退出码 {process.returncode}）：{detail}"
            )
        return result.read_bytes()
