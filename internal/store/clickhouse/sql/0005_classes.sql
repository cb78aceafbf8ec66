-- Only model calls are calls (genai.ClassOf): class is call, agent, tool
-- or '', and is_genai now means "a model call", so agent runs and tool
-- calls leave the aggregates and the rollups. agent_name and tool_name
-- name the steps (Steps reads them). The DEFAULTs classify the rows
-- written before this migration (from their operation and span name);
-- the writer sends every column. migrate skips an ADD COLUMN whose
-- column exists (18.16 has no IF NOT EXISTS), so a rerun is harmless.
ALTER TABLE {db}.{spans} ADD COLUMN class String DEFAULT multiIf(operation = 'invoke_agent', 'agent', operation = 'execute_tool', 'tool', operation IN ('', 'create_agent'), '', 'call');
ALTER TABLE {db}.{spans} ADD COLUMN agent_name String DEFAULT if(operation = 'invoke_agent' AND startsWith(name, 'invoke_agent '), substring(name, 14), '');
ALTER TABLE {db}.{spans} ADD COLUMN tool_name String DEFAULT if(operation = 'execute_tool' AND startsWith(name, 'execute_tool '), substring(name, 14), '');
ALTER TABLE {db}.{spans} UPDATE is_genai = 0 WHERE is_genai = 1 AND operation IN ('invoke_agent', 'execute_tool', 'create_agent');

-- The rollups counted agent runs and tool calls as calls: rebuild them
-- from the model calls (by class: the mutation above runs in the
-- background).
TRUNCATE TABLE {db}.{rollup};
INSERT INTO {db}.{rollup} SELECT {rollup_select}
FROM {db}.{spans} WHERE class = 'call'
GROUP BY {rollup_keys};
TRUNCATE TABLE {db}.{rollup_dim};
INSERT INTO {db}.{rollup_dim} SELECT {rollup_dim_select}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE class = 'call'
GROUP BY {rollup_dim_keys};
TRUNCATE TABLE {db}.{rollup_day};
INSERT INTO {db}.{rollup_day} SELECT {rollup_day_select}
FROM {db}.{spans} ARRAY JOIN {rollup_dim_values} AS dv WHERE class = 'call'
GROUP BY {rollup_dim_keys};
