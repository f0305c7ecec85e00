"""Process definitions for designers: versions, upload → validate → deploy, diagram, source, instances."""

from web.definitions import (
    decisions,  # noqa: F401  (adds the decision-table editor)
    form_editor,  # noqa: F401  (adds 表单设计, the form editor of a draft)
    migration,  # noqa: F401  (adds the 迁移实例 page)
    modeler,  # noqa: F401  (adds 在浏览器中编辑 and the version diff)
)
from web.definitions.views import bp

__all__ = ["bp"]
