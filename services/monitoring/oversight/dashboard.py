"""The bureau's dashboard 监管驾驶舱: a static Chinese page (public) whose data calls carry a bearer token.

The page logs in with client credentials at the gateway's ``/oauth/token`` and then calls the monitoring
API. Charts use plotly.js served from the installed ``plotly`` package (no CDN).
"""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

router = APIRouter(prefix="/public/dashboard", tags=["dashboard"])

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>安全生产责任保险监管驾驶舱</title>
<script src="dashboard/plotly.min.js"></script>
<style>body{font-family:sans-serif;margin:1em}section{margin:1em 0}.chart{width:720px;height:320px}</style>
</head><body>
<h1>安全生产责任保险监管驾驶舱</h1>
<form id="login"><label>客户端ID <input id="cid" name="client_id"></label>
<label>密钥 <input id="secret" name="client_secret" type="password"></label>
<label>年度 <input id="year" name="year" size="5"></label>
<button type="submit">登录</button> <span id="status"></span></form>
<section><h2>应保尽保覆盖情况（行业/区县）</h2><div id="coverage" class="chart"></div></section>
<section><h2>保险机构综合评价排名</h2><ol id="ranking"></ol></section>
<section><h2>事故预防费用支出比例（20%目标线）</h2><div id="prevention" class="chart"></div></section>
<section><h2>快赔时限执行情况</h2><div id="fasttrack"></div></section>
<section><h2>隐患整改趋势</h2><div id="hazards" class="chart"></div></section>
<section><h2>未处理预警</h2><ul id="alerts"></ul></section>
<script>
const base = location.pathname.replace(/\\/public\\/dashboard.*$/, "");
let token = null;
async function api(path, opts) {
  const r = await fetch(base + path, Object.assign({headers: {Authorization: "Bearer " + token}}, opts || {}));
  if (!r.ok) throw new Error(path + " " + r.status);
  return r.json();
}
function li(parent, text) { const e = document.createElement("li"); e.textContent = text; parent.appendChild(e); }
async function load(year) {
  const cov = await api("/coverage");
  const labels = cov.groups.map(g => g.industry + "·" + g.district);
  Plotly.newPlot("coverage", [
    {type: "bar", name: "应保", x: labels, y: cov.groups.map(g => g.must_insure)},
    {type: "bar", name: "已保", x: labels, y: cov.groups.map(g => g.insured)}], {barmode: "group"});
  const ranking = document.getElementById("ranking"); ranking.innerHTML = "";
  const disclosed = await (await fetch(base + "/public/disclosures")).json();
  const ev = disclosed.find(d => String(d.year) === String(year)) || disclosed[0];
  if (ev) ev.scores.forEach(s => li(ranking, s.insurer + "（" + s.total + "分）"));
  const rows = await api("/oversight/insurers?year=" + year);
  const funds = await Promise.all(rows.map(r => api("/oversight/insurers/" + encodeURIComponent(r.insurer) + "?year=" + year)));
  const names = funds.map(f => f.insurer);
  Plotly.newPlot("prevention", [
    {type: "bar", name: "支出比例", x: names, y: funds.map(f => Number(f.prevention_fund.spend_ratio || 0))},
    {type: "scatter", mode: "lines", name: "20%目标线", x: names, y: names.map(() => 0.2)}], {yaxis: {tickformat: ".0%"}});
  const sum = (list, field) => list.reduce((total, r) => total + Number(r[field] || 0), 0);
  document.getElementById("fasttrack").textContent =
    "快赔/预赔启动：" + sum(rows, "fast_track_opened") + " 件，按时：" + sum(rows, "fast_track_met") + " 件，超时：" + sum(rows, "fast_track_missed") + " 件";
  const quarters = await Promise.all([1, 2, 3, 4].map(q => api("/oversight/insurers?year=" + year + "&quarter=" + q)));
  const qs = ["一季度", "二季度", "三季度", "四季度"];
  Plotly.newPlot("hazards", [
    {type: "scatter", mode: "lines+markers", name: "发现隐患", x: qs, y: quarters.map(r => sum(r, "hazards_found"))},
    {type: "scatter", mode: "lines+markers", name: "完成整改", x: qs, y: quarters.map(r => sum(r, "hazards_rectified"))}]);
  const alerts = await api("/oversight/alerts?status=open");
  const ul = document.getElementById("alerts"); ul.innerHTML = "";
  alerts.forEach(a => li(ul, a.message_zh));
}
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const status = document.getElementById("status");
  const body = new URLSearchParams({grant_type: "client_credentials",
    client_id: document.getElementById("cid").value, client_secret: document.getElementById("secret").value});
  const r = await fetch("/oauth/token", {method: "POST", body});
  if (!r.ok) { status.textContent = "登录失败"; return; }
  token = (await r.json()).access_token;
  status.textContent = "已登录";
  const year = document.getElementById("year").value || new Date().getFullYear();
  try { await load(year); status.textContent = "已加载"; } catch (err) { status.textContent = "加载失败：" + err.message; }
});
</script></body></html>
"""


@router.get("", response_class=HTMLResponse)
async def dashboard() -> str:
    return PAGE


@router.get("/plotly.min.js", response_class=FileResponse,
            responses={200: {"content": {"text/javascript": {"schema": {"type": "string"}}}, "description": "Plotly, served locally (no CDN)"}})
async def plotly_js() -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})
