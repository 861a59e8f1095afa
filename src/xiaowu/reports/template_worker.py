"""Render one school template in a process of its own (see ``docx_render.render_with_template``).

Reads ``{"template": base64, "context": {...}, "cpu_seconds": n, "memory_bytes": n}`` as JSON
on standard input, limits its own CPU time and address space, and writes the filled .docx to
standard output. Exit codes: 0 done; 3 a template error, its message (Chinese, for the user)
on standard error; 4 out of memory or recursion; killed by SIGXCPU when the CPU time runs out.
Django is not loaded: the renderer needs only python-docx, docxtpl and Jinja.
"""

from __future__ import annotations

import base64
import json
import resource
import sys

from xiaowu.reports.docx_render import (
    WORKER_RESOURCE_ERROR,
    WORKER_USER_ERROR,
    render_context_with_template,
)


def main() -> int:
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    cpu = int(request["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(request["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    template = base64.b64decode(request["template"])
    try:
        data = render_context_with_template(request["context"], template)
    except ValueError as exc:
        sys.stderr.buffer.write(str(exc).encode("utf-8"))
        return WORKER_USER_ERROR
    except (MemoryError, RecursionError):
        return WORKER_RESOURCE_ERROR
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
