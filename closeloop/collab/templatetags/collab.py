"""Template filters of collaboration pages."""

from django import template

from closeloop.collab import ladder

register = template.Library()


@register.filter
def escalated_label(level) -> str:
    """`{{ issue.level|escalated_label }}`: "Escalated to level 1 (department head)"
    (`ladder.escalated_label`); "" for an issue that has not escalated (level 0)."""
    return ladder.escalated_label(int(level)) if level else ""
