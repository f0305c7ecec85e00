# ruff: noqa: E501
"""Generate the modeler corpus (kept in git; this script documents how the binary variants were made)."""
import codecs
from pathlib import Path

HERE = Path(__file__).resolve().parent
CAMUNDA_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:modeler="http://camunda.org/schema/modeler/1.0" '
    'id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.17.0" '
    'modeler:executionPlatform="Camunda Platform" modeler:executionPlatformVersion="7.20.0">\n')
BPMNIO_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
    'id="Definitions_0x1" targetNamespace="http://bpmn.io/schema/bpmn" exporter="bpmn-js (https://demo.bpmn.io)" exporterVersion="17.0.2">\n')
END = "</bpmn:definitions>\n"


def flow(fid, s, t, cond=None):
    if cond is None:
        return f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{s}" targetRef="{t}" />\n'
    return (f'    <bpmn:sequenceFlow id="{fid}" sourceRef="{s}" targetRef="{t}">\n'
            f'      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{cond}</bpmn:conditionExpression>\n'
            f'    </bpmn:sequenceFlow>\n')


def chain(pid, nodes, head=CAMUNDA_HEAD, executable="true", extra=""):
    """A straight process: start -> nodes... -> end, with DI."""
    ids = ["StartEvent_1"] + [n[0] for n in nodes] + ["EndEvent_1"]
    body = f'  <bpmn:process id="{pid}" isExecutable="{executable}">\n' + extra
    body += '    <bpmn:startEvent id="StartEvent_1">\n      <bpmn:outgoing>Flow_0</bpmn:outgoing>\n    </bpmn:startEvent>\n'
    for i, (_nid, xml) in enumerate(nodes):
        body += xml.replace("{in}", f"Flow_{i}").replace("{out}", f"Flow_{i + 1}")
    body += f'    <bpmn:endEvent id="EndEvent_1">\n      <bpmn:incoming>Flow_{len(nodes)}</bpmn:incoming>\n    </bpmn:endEvent>\n'
    for i in range(len(ids) - 1):
        body += flow(f"Flow_{i}", ids[i], ids[i + 1])
    body += "  </bpmn:process>\n"
    body += f'  <bpmndi:BPMNDiagram id="BPMNDiagram_1">\n    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="{pid}">\n'
    for i, nid in enumerate(ids):
        w, h = (36, 36) if nid.endswith("Event_1") else (100, 80)
        body += (f'      <bpmndi:BPMNShape id="{nid}_di" bpmnElement="{nid}">\n'
                 f'        <dc:Bounds x="{150 + i * 160}" y="{100 if w == 100 else 122}" width="{w}" height="{h}" />\n'
                 f'      </bpmndi:BPMNShape>\n')
    for i in range(len(ids) - 1):
        body += (f'      <bpmndi:BPMNEdge id="Flow_{i}_di" bpmnElement="Flow_{i}">\n'
                 f'        <di:waypoint x="{150 + i * 160 + 100}" y="140" />\n        <di:waypoint x="{150 + (i + 1) * 160}" y="140" />\n'
                 f'      </bpmndi:BPMNEdge>\n')
    body += "    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n"
    return head + body + END


def user(nid, attrs="", name="Task", inner=""):
    return (f'    <bpmn:userTask id="{nid}" name="{name}" {attrs}>\n{inner}      <bpmn:incoming>{{in}}</bpmn:incoming>\n'
            f'      <bpmn:outgoing>{{out}}</bpmn:outgoing>\n    </bpmn:userTask>\n')


def write(name, text, encoding="utf-8", bom=b"", crlf=False):
    if crlf:
        text = text.replace("\n", "\r\n")
    (HERE / name).write_bytes(bom + text.encode(encoding))


# 1. Camunda 7 task attributes (Camunda Modeler 5)
props = ('      <bpmn:extensionElements>\n        <camunda:properties>\n'
         '          <camunda:property name="sla" value="first_response" />\n'
         '          <camunda:property name="channel" value="phone" />\n        </camunda:properties>\n'
         '      </bpmn:extensionElements>\n')
write("camunda5_task_attributes.bpmn", chain("camunda_attributes", [
    ("head_review", user("head_review", 'camunda:candidateGroups="cs_head"', "Head review")),
    ("rep_follow_up", user("rep_follow_up", 'camunda:assignee="rep" camunda:dueDate="P2D" '
                           'camunda:followUpDate="now() + timedelta(days=1)" camunda:priority="80"', "Rep follow-up", props)),
    ("shared_check", user("shared_check", 'camunda:candidateGroups="vp, finance" camunda:candidateUsers="rep2"', "Shared check")),
    ("by_display_name", user("by_display_name", 'camunda:candidateGroups="客服部负责人"', "Head by display name")),
]))
# 2. nobody may act; JUEL and FEEL
write("bpmnio_user_task_nobody.bpmn", chain("bpmnio_nobody", [("anyone", user("anyone", "", "Anyone&#10;  at all"))], head=BPMNIO_HEAD))
write("camunda5_juel.bpmn", chain("camunda_juel", [
    ("approve", user("approve", 'camunda:candidateGroups="cs_head" camunda:dueDate="${dateTime().plusDays(2).toDate()}"',
                     "Approve&#10;   order  ")),
    ("escalate", user("escalate", 'camunda:assignee="${initiator}" camunda:priority="#{priority}"', "Escalate")),
]))
write("zeebe_feel_condition.bpmn", chain("zeebe_feel", [
    ("decide", '    <bpmn:exclusiveGateway id="decide" name="Approved?">\n      <bpmn:incoming>{in}</bpmn:incoming>\n'
               '      <bpmn:outgoing>{out}</bpmn:outgoing>\n      <bpmn:outgoing>Flow_no</bpmn:outgoing>\n    </bpmn:exclusiveGateway>\n'),
], extra=flow("Flow_no", "decide", "EndEvent_1", "= not(approved)")).replace(
    '<bpmn:sequenceFlow id="Flow_1" sourceRef="decide" targetRef="EndEvent_1" />',
    '<bpmn:sequenceFlow id="Flow_1" sourceRef="decide" targetRef="EndEvent_1">\n'
    '      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">=approved</bpmn:conditionExpression>\n'
    '    </bpmn:sequenceFlow>').replace('<bpmn:incoming>Flow_1</bpmn:incoming>\n    </bpmn:endEvent>',
                                       '<bpmn:incoming>Flow_1</bpmn:incoming>\n      <bpmn:incoming>Flow_no</bpmn:incoming>\n    </bpmn:endEvent>'))
# 3. scripts
def script(nid, fmt, text, attrs=""):
    fmt_attr = f' scriptFormat="{fmt}"' if fmt else ""
    return (f'    <bpmn:scriptTask id="{nid}" name="Compute fee"{fmt_attr} {attrs}>\n      <bpmn:incoming>{{in}}</bpmn:incoming>\n'
            f'      <bpmn:outgoing>{{out}}</bpmn:outgoing>\n      <bpmn:script>{text}</bpmn:script>\n    </bpmn:scriptTask>\n')
write("camunda5_javascript.bpmn", chain("camunda_javascript", [
    ("fee", script("fee", "javascript", "amount * 0.1", 'camunda:resultVariable="fee"'))]))
write("camunda5_result_variable.bpmn", chain("camunda_result_variable", [
    ("fee", script("fee", "python", "amount * 2", 'camunda:resultVariable="fee"'))]))
# 5. no silent waiting
write("bpmnio_plain_and_manual_task.bpmn", chain("bpmnio_pass_through", [
    ("plain", '    <bpmn:task id="plain" name="Call the customer">\n      <bpmn:incoming>{in}</bpmn:incoming>\n      <bpmn:outgoing>{out}</bpmn:outgoing>\n    </bpmn:task>\n'),
    ("manual", '    <bpmn:manualTask id="manual" name="File the paper copy">\n      <bpmn:incoming>{in}</bpmn:incoming>\n      <bpmn:outgoing>{out}</bpmn:outgoing>\n    </bpmn:manualTask>\n'),
], head=BPMNIO_HEAD))
write("camunda5_receive_task.bpmn", chain("camunda_receive", [
    ("wait_payment", '    <bpmn:receiveTask id="wait_payment" name="Wait for payment" messageRef="Message_paid">\n      <bpmn:incoming>{in}</bpmn:incoming>\n      <bpmn:outgoing>{out}</bpmn:outgoing>\n    </bpmn:receiveTask>\n'),
]).replace("  <bpmn:process", '  <bpmn:message id="Message_paid" name="payment_received" />\n  <bpmn:process', 1))
signavio = ('<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:omgdc="http://www.omg.org/spec/DD/20100524/DC" xmlns:omgdi="http://www.omg.org/spec/DD/20100524/DI" '
    'xmlns:signavio="http://www.signavio.com" exporter="Signavio Process Editor, http://www.signavio.com" exporterVersion="17.6.0" '
    'id="sid-defs" targetNamespace="http://www.signavio.com">\n'
    '   <signal id="sid-signal" name="stop"/>\n'
    '   <process id="sid-process" isExecutable="true">\n'
    '      <startEvent id="sid-start" name=""><outgoing>sid-f1</outgoing></startEvent>\n'
    '      <intermediateCatchEvent id="sid-wait" name="Stop&#10;signal">\n'
    '         <incoming>sid-f1</incoming><outgoing>sid-f2</outgoing>\n'
    '         <signalEventDefinition id="sid-sigdef" signalRef="sid-signal"/>\n'
    '      </intermediateCatchEvent>\n'
    '      <endEvent id="sid-end"><incoming>sid-f2</incoming></endEvent>\n'
    '      <sequenceFlow id="sid-f1" sourceRef="sid-start" targetRef="sid-wait"/>\n'
    '      <sequenceFlow id="sid-f2" sourceRef="sid-wait" targetRef="sid-end"/>\n'
    '   </process>\n</definitions>\n')
write("signavio_signal_catch.bpmn", signavio)
# 6. XML as tools write it
write("camunda5_bom_crlf.bpmn", chain("camunda_bom", [("bom_task", user("bom_task", 'camunda:candidateGroups="cs_rep"', "BOM task"))]),
      bom=codecs.BOM_UTF8, crlf=True)
bizagi = chain("bizagi_utf16", [("utf16_task", user("utf16_task", 'camunda:candidateGroups="cs_rep"', "UTF-16 任务"))]).replace(
    'encoding="UTF-8"', 'encoding="UTF-16"').replace('exporter="Camunda Modeler" exporterVersion="5.17.0"', 'exporter="Bizagi Modeler" exporterVersion="4.0"')
write("bizagi_utf16.bpmn", bizagi, encoding="utf-16-le", bom=codecs.BOM_UTF16_LE, crlf=True)
eclipse = chain("eclipse_bpmn2", [("bpmn2_task", user("bpmn2_task", 'camunda:candidateGroups="cs_rep"', "Prefixed task"))])
eclipse = eclipse.replace("bpmn:", "bpmn2:").replace("xmlns:bpmn=", "xmlns:bpmn2=").replace(
    'exporter="Camunda Modeler" exporterVersion="5.17.0"', 'exporter="org.eclipse.bpmn2.modeler.core" exporterVersion="1.5.4"')
write("eclipse_bpmn2_prefix.bpmn", eclipse)
# 7. documentation only (bpmn.io's default)
write("bpmnio_documentation_only.bpmn", chain("bpmnio_drawing", [
    ("draw", user("draw", "", "Someone does something"))], head=BPMNIO_HEAD, executable="false"))
# Camunda extensions the engine would otherwise ignore: listeners, input/output mappings, generated forms
extensions = ('      <bpmn:extensionElements>\n'
              '        <camunda:executionListener class="com.example.AuditListener" event="start" />\n'
              '        <camunda:inputOutput>\n          <camunda:inputParameter name="limit">${1000}</camunda:inputParameter>\n'
              '        </camunda:inputOutput>\n'
              '        <camunda:formData>\n          <camunda:formField id="approved" label="Approved?" type="boolean" />\n'
              '        </camunda:formData>\n      </bpmn:extensionElements>\n')
write("camunda5_listener_io_formdata.bpmn", chain("camunda_extensions", [
    ("check", user("check", 'camunda:candidateGroups="cs_rep"', "Check limit", extensions))]))
# An implicit split after a task (valid BPMN; Signavio draws it), which the engine refuses with the gateway to use
split = signavio.replace('<signal id="sid-signal" name="stop"/>\n', '').replace(
    '      <intermediateCatchEvent id="sid-wait" name="Stop&#10;signal">\n'
    '         <incoming>sid-f1</incoming><outgoing>sid-f2</outgoing>\n'
    '         <signalEventDefinition id="sid-sigdef" signalRef="sid-signal"/>\n'
    '      </intermediateCatchEvent>\n',
    '      <userTask id="sid-review" name="Review" camunda:candidateGroups="cs_rep">\n'
    '         <incoming>sid-f1</incoming><outgoing>sid-f2</outgoing><outgoing>sid-f3</outgoing>\n'
    '      </userTask>\n').replace('<endEvent id="sid-end"><incoming>sid-f2</incoming></endEvent>',
                                    '<endEvent id="sid-end"><incoming>sid-f2</incoming><incoming>sid-f3</incoming></endEvent>').replace(
    'sourceRef="sid-wait" targetRef="sid-end"/>\n',
    'sourceRef="sid-review" targetRef="sid-end"/>\n      <sequenceFlow id="sid-f3" sourceRef="sid-review" targetRef="sid-end"/>\n').replace(
    'targetRef="sid-wait"', 'targetRef="sid-review"').replace(
    'xmlns:signavio="http://www.signavio.com"', 'xmlns:signavio="http://www.signavio.com" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"')
write("signavio_implicit_split.bpmn", split)
