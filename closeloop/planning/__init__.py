"""Planning (计划): a task's decomposition (subtasks, dependencies, milestones, templates),
recurring routine work, and the plan views (看板 board, 时间线 timeline, 工作量 workload, 日历
calendar). To the right of `tasks`: it imports tasks, tasks never imports it. See
docs/architecture.md."""
