-- Only model calls are calls: class is genai.ClassOf the operation
-- (call, agent, tool or ''), and is_genai now means "a model call", so
-- agent runs and tool calls leave every aggregate. agent_name and
-- tool_name name the steps (Steps reads them); rows written before this
-- migration get the tool's or agent's name from their span name
-- ("execute_tool lookup").
ALTER TABLE spans ADD COLUMN class VARCHAR DEFAULT '';
ALTER TABLE spans ADD COLUMN agent_name VARCHAR DEFAULT '';
ALTER TABLE spans ADD COLUMN tool_name VARCHAR DEFAULT '';
UPDATE spans SET class = CASE
        WHEN operation = 'invoke_agent' THEN 'agent'
        WHEN operation = 'execute_tool' THEN 'tool'
        WHEN operation IN ('', 'create_agent') THEN ''
        ELSE 'call' END;
UPDATE spans SET is_genai = (class = 'call'),
    agent_name = CASE WHEN class = 'agent' AND starts_with(name, 'invoke_agent ') THEN trim(substr(name, 14)) ELSE '' END,
    tool_name = CASE WHEN class = 'tool' AND starts_with(name, 'execute_tool ') THEN trim(substr(name, 14)) ELSE '' END;
