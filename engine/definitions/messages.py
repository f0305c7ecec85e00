"""What deploy-time checks tell a designer, in English and Chinese, keyed by message id.

A check names a message id and its values; :func:`problem` renders both languages into a
:class:`~engine.errors.Problem`, so the CLI (``LANG`` / ``--lang``) and the web (the UI language)
print the designer's language. Values that are BPMN element kinds (``kind``) are translated too.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from engine.errors import Problem

# id: (English, 中文). Every message says what is wrong and what to do.
CATALOGUE: dict[str, tuple[str, str]] = {
    # reading the file
    "file_too_big": ("the file is {size} bytes; the limit is {limit}", "文件大小为 {size} 字节，上限为 {limit}"),
    "dtd": ("DTDs and entity declarations are not allowed in BPMN/DMN files; remove the <!DOCTYPE …> part",
            "BPMN/DMN 文件中不允许 DTD 和实体声明；请删除 <!DOCTYPE …> 部分"),
    "not_xml": ("not an XML document; save the diagram as BPMN 2.0 XML", "不是 XML 文档；请将流程图另存为 BPMN 2.0 XML"),
    "not_well_formed": ("not well-formed XML: {detail}; fix the file in a modeler or text editor",
                        "XML 格式不正确：{detail}；请在建模工具或文本编辑器中修正"),
    "bad_encoding": ("the file cannot be read as {encoding} text; save it as UTF-8",
                     "无法按 {encoding} 编码读取该文件；请另存为 UTF-8"),
    "wrong_root": ("the root element {root} is neither BPMN nor DMN definitions; export the diagram as BPMN 2.0 XML",
                   "根元素 {root} 既不是 BPMN 也不是 DMN 定义；请将流程图导出为 BPMN 2.0 XML"),
    "no_such_file": ("no such file or directory", "文件或目录不存在"),
    "documentation_only": ("no executable process (documentation only)", "没有可执行的流程（仅为文档）"),
    "form_invalid": ("a form the process uses is not valid: {detail}", "流程使用的表单无效：{detail}"),
    # forms deployed in the bundle (<key>.schema.json + <key>.ui.json); form_unused is a warning
    "unknown_file_type": ("not a file a bundle holds; deploy .bpmn, .dmn, <name>.i18n.json, <form>.schema.json and "
                          "<form>.ui.json files (or a .zip of them)", "不是部署包可含的文件；请部署 .bpmn、.dmn、"
                          "<名称>.i18n.json、<表单>.schema.json 和 <表单>.ui.json 文件（或它们的 .zip）"),
    "form_not_json": ("the form file is not valid UTF-8 JSON: {detail}; fix it in the form editor or a text editor",
                      "表单文件不是有效的 UTF-8 JSON：{detail}；请在表单编辑器或文本编辑器中修正"),
    "form_not_object": ("the form file must hold one JSON object ({{…}}), not {found}", "表单文件必须是一个 JSON 对象（{{…}}），而不是 {found}"),
    "form_bad_key": ("'{key}' is not a form key; name form files with letters, digits, '_', '-' or '.' only "
                     "(<form>.schema.json)", "'{key}' 不是合法的表单键；表单文件名只能含字母、数字、'_'、'-' 或 '.'"
                     "（<表单>.schema.json）"),
    "form_ui_orphan": ("form UI hints without their schema {schema}; deploy {schema} with it",
                       "表单界面提示缺少对应的表单定义 {schema}；请一并部署 {schema}"),
    "form_unused": ("no process in this deploy uses form '{key}' (camunda:formKey); it is not stored: fix the form key in "
                    "the BPMN file or leave the form out", "本次部署中没有流程使用表单 '{key}'（camunda:formKey）；该表单不会保存："
                    "请修正 BPMN 文件中的表单键，或不要部署该表单"),
    "duplicate_file": ("the file name appears twice in the bundle ({other}); keep one", "部署包中该文件名出现两次（{other}）；请只保留一个"),
    # zip bundles: what is refused to keep the server safe
    "zip_not_zip": ("not a readable zip archive: {detail}", "不是可读取的 zip 压缩包：{detail}"),
    "zip_unsafe_path": ("archive entry '{entry}' points outside the bundle (absolute path or '..'); zip the folder itself",
                        "压缩包条目 '{entry}' 指向部署包之外（绝对路径或 '..'）；请直接压缩该文件夹"),
    "zip_symlink": ("archive entry '{entry}' is a symbolic link; put the file itself in the zip",
                    "压缩包条目 '{entry}' 是符号链接；请把文件本身放入压缩包"),
    "zip_nested": ("archive entry '{entry}' is an archive inside the archive; unpack it and zip the files once",
                   "压缩包条目 '{entry}' 是嵌套的压缩包；请解压后只压缩一次文件"),
    "zip_too_many": ("the archive has {count} entries; the limit is {limit}", "压缩包有 {count} 个条目，上限为 {limit}"),
    "zip_too_big": ("the archive unpacks to more than {limit} bytes; deploy fewer or smaller files",
                    "压缩包解压后超过 {limit} 字节；请减少文件数量或大小"),
    "zip_encrypted": ("archive entry '{entry}' is encrypted; zip the files without a password",
                      "压缩包条目 '{entry}' 已加密；请不加密码重新压缩"),
    "zip_duplicate": ("archive entry '{entry}' appears twice (also as '{other}'); keep one",
                      "压缩包条目 '{entry}' 出现两次（另见 '{other}'）；请只保留一个"),
    "zip_empty": ("the archive holds no BPMN, DMN, catalogue or form file", "压缩包中没有 BPMN、DMN、翻译目录或表单文件"),
    # translation catalogues (<stem>.i18n.json); the last three are warnings, not errors
    "catalogue_not_json": ("the translation catalogue is not valid UTF-8 JSON: {detail}",
                           "翻译目录不是有效的 UTF-8 JSON：{detail}"),
    "catalogue_shape": ("translation catalogue: {detail}", "翻译目录：{detail}"),
    "shipped_kept": ("kept version {version} of {process}, deployed by {by}: it replaced this shipped file, which is "
                     "deployed already; deploy the file by name to go back to it",
                     "保留 {process} 的第 {version} 版（{by} 部署）：它替换了这份已部署过的出厂文件；如需恢复出厂版本，请按文件名部署该文件"),
    "catalogue_orphan": ("translation catalogue without its BPMN file {bpmn}; deploy them together",
                         "翻译目录缺少对应的 BPMN 文件 {bpmn}；请一并部署"),
    "catalogue_missing": ("no translation catalogue {catalogue}: names are shown as written in every language; add one "
                          "with texts in {languages}", "没有翻译目录 {catalogue}：各语言都按原文显示名称；请添加含 {languages} 文本的目录"),
    "catalogue_incomplete": ("{count} name(s) have no {language} text, shown as written instead: {keys}",
                             "{count} 个名称缺少 {language} 文本，将按原文显示：{keys}"),
    "catalogue_unknown_keys": ("texts for ids that name no element in the BPMN file (renamed or deleted?): {keys}",
                               "以下 id 在 BPMN 文件中不存在（已改名或删除？）：{keys}"),
    "duplicate_process": ("process id '{process}' is already deployed from {other}; rename the process id, or deploy "
                          "it from {other}", "流程 id '{process}' 已由 {other} 部署；请修改流程 id，或通过 {other} 部署"),
    "duplicate_process_in_deploy": ("process id '{process}' is also defined in {other}; give each process its own id",
                                    "流程 id '{process}' 也在 {other} 中定义；请为每个流程使用不同的 id"),
    # XML schema
    "xsd_unknown_element": ("unknown element {element}: it is not part of BPMN 2.0; remove it or put it inside "
                            "bpmn:extensionElements", "未知元素 {element}：它不属于 BPMN 2.0；请删除，或放入 bpmn:extensionElements"),
    "xsd_not_allowed": ("element {element} is not allowed here{hint}", "此处不允许元素 {element}{hint}"),
    "xsd_missing_child": ("{element} is missing a required child element{hint}", "{element} 缺少必需的子元素{hint}"),
    "xsd_missing_attribute": ("{element} is missing the required attribute '{attribute}'", "{element} 缺少必需的属性 '{attribute}'"),
    "xsd_attribute_not_allowed": ("attribute '{attribute}' is not allowed on {element}; remove it",
                                  "{element} 上不允许属性 '{attribute}'；请删除"),
    "xsd_duplicate_id": ("duplicate id '{value}' (ids must be unique in a file)", "id '{value}' 重复（同一文件中 id 必须唯一）"),
    "xsd_bad_id": ("id '{value}' is not a valid XML id (start with a letter or '_', no spaces)",
                   "id '{value}' 不是合法的 XML id（须以字母或 '_' 开头，不含空格）"),
    "xsd_bad_value": ("attribute '{attribute}' of {element}: '{value}' is not {type_en}",
                      "{element} 的属性 '{attribute}'：'{value}' 不是{type_zh}"),
    "xsd_dangling_reference": ("{element} refers to '{value}', which names no element in this file; fix the reference",
                               "{element} 引用了 '{value}'，但本文件中没有这个元素；请修正引用"),
    "xsd_other": ("{element} does not follow the BPMN 2.0 schema: {detail}", "{element} 不符合 BPMN 2.0 规范：{detail}"),
    # flows, conditions, scripts, timers
    "flow_missing_ref": ("bpmn:sequenceFlow is missing the required attribute '{attribute}'",
                         "bpmn:sequenceFlow 缺少必需的属性 '{attribute}'"),
    "flow_bad_ref": ("sequence flow {flow} has {attribute} '{ref}', which names no element in {where}",
                     "顺序流 {flow} 的 {attribute} 为 '{ref}'，但 {where} 中没有这个元素"),
    "condition_compile": ("condition of sequence flow {flow} does not compile: {error}; write a Python expression such as "
                          "amount > 1000", "顺序流 {flow} 的条件无法编译：{error}；请写 Python 表达式，例如 amount > 1000"),
    "condition_language": ("condition of sequence flow {flow} is written in '{language}'; this engine evaluates Python "
                           "expressions only: remove the language attribute and write e.g. amount > 1000",
                           "顺序流 {flow} 的条件使用 '{language}' 编写；本引擎只计算 Python 表达式：请删除 language 属性，改写为例如 amount > 1000"),
    "script_empty": ("script task {task} has no script; write Python statements in it",
                     "脚本任务 {task} 没有脚本；请在其中写 Python 语句"),
    "script_compile": ("script of script task {task} does not compile: {error}", "脚本任务 {task} 的脚本无法编译：{error}"),
    "script_format": ("script task {task} is written in '{format}'; this engine runs only Python scripts "
                      "(scriptFormat=\"python\")", "脚本任务 {task} 使用 '{format}' 编写；本引擎只运行 Python 脚本（scriptFormat=\"python\"）"),
    "script_resource": ("script task {task} loads its script from '{resource}'; put the Python script inside the task",
                        "脚本任务 {task} 从 '{resource}' 加载脚本；请把 Python 脚本直接写在任务中"),
    "result_variable_name": ("camunda:resultVariable '{name}' of script task {task} is not a variable name; use letters, "
                             "digits and '_'", "脚本任务 {task} 的 camunda:resultVariable '{name}' 不是合法变量名；请使用字母、数字和 '_'"),
    "result_variable_expression": ("script task {task} has camunda:resultVariable, so its script must be one Python "
                                   "expression (its value is stored in '{name}'); {error}",
                                   "脚本任务 {task} 设置了 camunda:resultVariable，脚本必须是一个 Python 表达式（其值存入 '{name}'）；{error}"),
    "timer_no_value": ("timer of {kind} {event} has no timeDate, timeDuration or timeCycle; give it one",
                       "{kind} {event} 的定时器没有 timeDate、timeDuration 或 timeCycle；请设置一个"),
    "timer_empty": ("timer of {kind} {event}: {field} is empty; write an ISO 8601 value such as PT30M or a Python expression",
                    "{kind} {event} 的定时器：{field} 为空；请填写 ISO 8601 值（如 PT30M）或 Python 表达式"),
    "timer_bad_iso": ("timer of {kind} {event}: {field} '{text}' is not a valid ISO 8601 {iso}: {error}",
                      "{kind} {event} 的定时器：{field} '{text}' 不是合法的 ISO 8601 {iso}：{error}"),
    "timer_compile": ("timer of {kind} {event}: {field} expression '{text}' does not compile: {error}",
                      "{kind} {event} 的定时器：{field} 表达式 '{text}' 无法编译：{error}"),
    # references
    "message_missing": ("{kind} {element} refers to message '{ref}', which names no bpmn:message; add the message or fix "
                        "the reference", "{kind} {element} 引用了消息 '{ref}'，但没有这个 bpmn:message；请添加消息或修正引用"),
    "decision_missing": ("business rule task {element} names no decision; set camunda:decisionRef to the id of a DMN "
                         "decision", "业务规则任务 {element} 没有指定决策；请把 camunda:decisionRef 设为 DMN 决策的 id"),
    "call_empty": ("call activity {element} has no calledElement; name the process it calls",
                   "调用活动 {element} 没有 calledElement；请填写它调用的流程"),
    "receive_no_message": ("receive task {element} names no message, so nothing could ever end its wait; give it a "
                           "messageRef", "接收任务 {element} 没有指定消息，实例将永远等待；请设置 messageRef"),
    "catch_no_definition": ("intermediate catch event {element} has no event definition, so nothing could ever end its "
                            "wait; make it a timer or message event", "中间捕获事件 {element} 没有事件定义，实例将永远等待；请改为定时器或消息事件"),
    # who may act
    "lane_unknown_group": ("{kind} {task} is in lane {lane}, which names no group; name the lane after a group "
                           "(id or display name): {groups}", "{kind} {task} 位于泳道 {lane}，它不对应任何用户组；"
                           "请用用户组的 id 或显示名称命名泳道：{groups}"),
    "lane_missing": ("{kind} {task} is in no lane, but its process has lanes; put it in a lane named after a group ({groups})",
                     "{kind} {task} 不在任何泳道中，但它的流程有泳道；请把它放入以用户组命名的泳道（{groups}）"),
    "no_actor": ("user task {task} names nobody who may work on it; put it in a lane named after a group, or set "
                 "camunda:candidateGroups, camunda:candidateUsers or camunda:assignee",
                 "用户任务 {task} 没有指定谁可以处理；请把它放入以用户组命名的泳道，或设置 camunda:candidateGroups、"
                 "camunda:candidateUsers 或 camunda:assignee"),
    "unknown_candidate_group": ("user task {task}: {attribute} names '{group}', which is no group; known groups: {groups}",
                                "用户任务 {task}：{attribute} 中的 '{group}' 不是用户组；已知用户组：{groups}"),
    "bad_priority": ("user task {task}: camunda:priority '{value}' is not a whole number; use 0 to 100",
                     "用户任务 {task}：camunda:priority '{value}' 不是整数；请使用 0 到 100"),
    "bad_record_fields": ("task {element}: recordFields names {value}, which is no variable name; list the variables "
                          "the history should record when the task passes, separated by commas (e.g. type, "
                          "responsible_department)", "任务 {element}：recordFields 中的 {value} 不是变量名；请列出任务经过时"
                          "历史应记录的变量，用逗号分隔（如 type, responsible_department）"),
    "record_fields_elsewhere": ("{kind} {element}: recordFields only works on a plain task (bpmn:task) or a manual "
                                "task, which pass straight through; a user task's history already records its data. "
                                "Move the property to a plain task", "{kind} {element}：recordFields 只适用于直接经过的"
                                "普通任务（bpmn:task）或手工任务；用户任务的历史已记录其数据。请把该属性移到普通任务上"),
    "bad_date": ("user task {task}: {attribute} '{value}' is neither an ISO 8601 date/duration nor a Python expression: "
                 "{error}", "用户任务 {task}：{attribute} '{value}' 既不是 ISO 8601 日期/时长，也不是 Python 表达式：{error}"),
    "form_key_missing": ("form key '{key}' names no form in the forms folder, the files deployed or the process's "
                         "deployed version; add {key}.schema.json (with {key}.ui.json) to the bundle or fix the key",
                         "表单键 '{key}' 在表单目录、所部署的文件和该流程已部署的版本中都没有对应表单；"
                         "请把 {key}.schema.json（及 {key}.ui.json）加入部署包，或修正表单键"),
    "form_key_foreign": ("user task {task} has {attribute}, but the engine reads camunda:formKey (namespace {namespace}); "
                         "rename the attribute", "用户任务 {task} 使用了 {attribute}，而本引擎读取 camunda:formKey（命名空间 "
                         "{namespace}）；请改用该属性"),
    "form_key_embedded": ("user task {task}: form key '{key}' points at a Camunda web form; this engine shows forms from "
                          "forms/<key>.schema.json, so write camunda:formKey=\"<key>\"",
                          "用户任务 {task}：表单键 '{key}' 指向 Camunda 网页表单；本引擎使用 forms/<key>.schema.json 的表单，"
                          "请写 camunda:formKey=\"<key>\""),
    # expressions of other engines
    "juel": ("{attribute} of {element} is a Java/JUEL expression ('{text}'), which this engine does not run; write it in "
             "Python{suggestion}", "{element} 的 {attribute} 是 Java/JUEL 表达式（'{text}'），本引擎不运行；请改写为 Python{suggestion_zh}"),
    "feel": ("{attribute} of {element} is a FEEL expression ('{text}'), which this engine does not run; write it in "
             "Python{suggestion}", "{element} 的 {attribute} 是 FEEL 表达式（'{text}'），本引擎不运行；请改写为 Python{suggestion_zh}"),
    # what the engine does not run
    "unsupported_element": ("{kind} is not supported by this engine; see docs/authoring.md for what is, or mark the process "
                            "isExecutable=\"false\"", "本引擎不支持{kind}；支持的元素见 docs/authoring.md，或将流程标记为 "
                            "isExecutable=\"false\""),
    "unsupported_event": ("{definition} on {kind} {element} is not supported by this engine (nothing would ever trigger it); "
                          "use a timer or message event", "{kind} {element} 上的{definition}不受本引擎支持（永远不会被触发）；"
                          "请使用定时器或消息事件"),
    "camunda_listener": ("{element} has a Camunda execution/task listener, which runs Java or JUEL; this engine does not "
                         "run listeners: do the work in a script task or an external service task",
                         "{element} 带有 Camunda 执行/任务监听器（运行 Java 或 JUEL）；本引擎不运行监听器：请改用脚本任务或外部服务任务"),
    "camunda_io": ("{element} has camunda:inputOutput mappings, which this engine does not apply; set the variables in a "
                   "script task instead", "{element} 带有 camunda:inputOutput 变量映射，本引擎不执行；请改在脚本任务中设置变量"),
    "camunda_form_data": ("{element} has a Camunda generated form (camunda:formData), which this engine does not show; "
                          "describe the form in forms/<key>.schema.json and set camunda:formKey",
                          "{element} 使用 Camunda 生成表单（camunda:formData），本引擎不显示；请在 forms/<key>.schema.json "
                          "中定义表单并设置 camunda:formKey"),
    "camunda_call_mapping": ("{element} maps variables with camunda:in/camunda:out, which this engine does not apply (a "
                             "called process sees and returns all variables); remove the mappings",
                             "{element} 使用 camunda:in/camunda:out 映射变量，本引擎不执行（被调用流程可读取并返回全部变量）；请删除这些映射"),
    "pass_through_boundary": ("boundary event {element} is attached to {task}, which passes straight through (a plain or "
                              "manual task), so it could never fire; attach it to a user task",
                              "边界事件 {element} 附着在 {task} 上，而该任务会直接通过（普通任务或手工任务），它永远不会触发；请附着到用户任务上"),
    "multiple_outgoing": ("{kind} {element} has {count} outgoing sequence flows, and the engine does not split after a "
                          "task or event; add a parallel gateway after it (an exclusive gateway when the flows have "
                          "conditions)", "{kind} {element} 有 {count} 条流出顺序流，本引擎不会在任务或事件之后分支；请在其后添加"
                          "并行网关（若顺序流带条件，请用排他网关）"),
    "data_association": ("{element} reads or writes '{ref}', which names no data object reference of this process; connect "
                         "it to a data object", "{element} 读写的 '{ref}' 不是本流程的数据对象引用；请连接到一个数据对象"),
    "parse_failed": ("the process cannot be built: {detail}", "无法构建流程：{detail}"),
    # DMN
    "dmn_decision_no_id": ("decision '{name}' has no id; give it one", "决策 '{name}' 没有 id；请设置 id"),
    "dmn_table_no_id": ("decision table of decision {decision} has no id; give it one", "决策 {decision} 的决策表没有 id；请设置 id"),
    "dmn_entry": ("{what} {element} '{text}' does not compile: {error}", "{what_zh} {element} '{text}' 无法编译：{error}"),
}

# BPMN element kinds as designers call them.
KINDS: dict[str, tuple[str, str]] = {
    "userTask": ("user task", "用户任务"), "manualTask": ("manual task", "手工任务"), "task": ("task", "任务"),
    "scriptTask": ("script task", "脚本任务"), "serviceTask": ("service task", "服务任务"),
    "sendTask": ("send task", "发送任务"), "receiveTask": ("receive task", "接收任务"),
    "businessRuleTask": ("business rule task", "业务规则任务"), "callActivity": ("call activity", "调用活动"),
    "subProcess": ("sub-process", "子流程"), "transaction": ("transaction", "事务子流程"),
    "adHocSubProcess": ("ad-hoc sub-process", "自由子流程"), "complexGateway": ("complex gateway", "复杂网关"),
    "startEvent": ("start event", "开始事件"), "endEvent": ("end event", "结束事件"),
    "intermediateCatchEvent": ("intermediate catch event", "中间捕获事件"),
    "intermediateThrowEvent": ("intermediate throw event", "中间抛出事件"), "boundaryEvent": ("boundary event", "边界事件"),
    "signalEventDefinition": ("a signal", "信号"), "conditionalEventDefinition": ("a condition", "条件事件"),
    "escalationEventDefinition": ("an escalation", "升级事件"), "compensateEventDefinition": ("a compensation", "补偿事件"),
    "linkEventDefinition": ("a link", "链接事件"), "cancelEventDefinition": ("a cancel event", "取消事件"),
    "process": ("process", "流程"), "laneSet": ("lane set", "泳道集"),
    "dataStoreReference": ("data store", "数据存储"), "choreographyTask": ("choreography task", "编排任务"),
}

# XML Schema types in words a designer knows.
XSD_TYPES: dict[str, tuple[str, str]] = {
    "xs:IDREF": ("the id of an element in this file", "本文件中某个元素的 id"),
    "xs:ID": ("a valid id", "合法的 id"),
    "xs:QName": ("a reference of the form prefix:id", "prefix:id 形式的引用"),
    "xs:boolean": ("true or false", "true 或 false"),
    "xs:integer": ("a whole number", "整数"), "xs:int": ("a whole number", "整数"),
    "xs:double": ("a number", "数字"), "xs:decimal": ("a number", "数字"), "xs:float": ("a number", "数字"),
    "xs:anyURI": ("a URI", "URI"), "xs:dateTime": ("a date and time", "日期时间"),
    "xs:NCName": ("a name without spaces or colons", "不含空格和冒号的名称"),
}


def kind_text(local: str, lang: str) -> str:
    """Return the designer's name of a BPMN element kind (its local name) in ``lang``."""
    en, zh = KINDS.get(local, (local, local))
    return zh if lang == "zh" else en


def clean_name(node: Any) -> str | None:
    """Return the element's name on one line (modelers keep the line breaks typed into a shape)."""
    name = node.get("name") if node is not None and isinstance(node.tag, str) else None
    return " ".join(name.split()) or None if name else None


def render(code: str, lang: str, params: dict[str, Any]) -> str:
    """Return message ``code`` in ``lang`` ("en" or "zh") with its values filled in."""
    en, zh = CATALOGUE[code]
    values = {k: (kind_text(v, lang) if k in ("kind", "definition") else v) for k, v in params.items()}
    return (zh if lang == "zh" else en).format(**values)


def texts(code: str, **params: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Return message ``code`` in English and the other languages' texts, for a Problem."""
    return render(code, "en", params), (("zh", render(code, "zh", params)),)


def problem(file: str, node: Any, owner: Any, code: str, /, **params: Any) -> Problem:
    """Build a Problem at ``node``'s line about ``owner`` (the BPMN element that owns it, or its nearest ancestor with an id)."""
    english, others = texts(code, **params)
    line = node.sourceline if node is not None and node.sourceline else None
    element = _owner(owner)
    element_id = str(element.get("id")) if element is not None else None
    return Problem(file, line, element_id, english, clean_name(element), others)


def plain_problem(file: str, line: int | None, code: str, /, **params: Any) -> Problem:
    """Build a Problem about a file as a whole (or a line of it)."""
    english, others = texts(code, **params)
    return Problem(file, line or None, None, english, None, others)


def _owner(element: Any) -> Any:
    while element is not None and not element.get("id"):
        element = element.getparent()
    return element


_SYNTAX = re.compile(r"\b[A-Z]\w*Error: ")
_LINE = re.compile(r"^Line (\d+): ")


def readable_error(text: str) -> str:
    """Word a sandbox/compiler error for a designer: no exception class names, no 'Line 1' of a one-liner."""
    text = _LINE.sub(lambda m: "" if m.group(1) == "1" else f"line {m.group(1)}: ", str(text).strip())
    text = _SYNTAX.sub(lambda m: "Python syntax error: " if "Syntax" in m.group(0) else "", text)
    return text.rstrip(".")


def local_name(node: Any) -> str:
    """Return the local name of an element's tag."""
    return str(etree.QName(node).localname)
