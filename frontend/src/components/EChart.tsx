// A thin wrapper over Apache ECharts: one chart instance per element, options replaced
// on change, resized with its box. Only the chart types the consoles use are bundled:
// a type used but not registered here draws nothing (the review's pies were blank).
import { BarChart, FunnelChart, LineChart, PieChart } from "echarts/charts";
import {
  DatasetComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  TooltipComponent,
} from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { useEffect, useRef } from "react";

echarts.use([
  LineChart,
  BarChart,
  FunnelChart,
  PieChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  DatasetComponent,
  CanvasRenderer,
]);

export type EChartOption = echarts.EChartsCoreOption;

const PRINT_WIDTH = 700;

export function EChart({ option, height = 260, testId }: { option: EChartOption; height?: number; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, "dark", { renderer: "canvas" });
    chart.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    // Printed (or saved as PDF) on A4: drawn at the page's width (186 mm ≈ 700 px) so it
    // fits without being scaled, and back to its box afterwards.
    const toPage = () => c.resize({ width: PRINT_WIDTH });
    const back = () => c.resize();
    window.addEventListener("beforeprint", toPage);
    window.addEventListener("afterprint", back);
    return () => {
      window.removeEventListener("beforeprint", toPage);
      window.removeEventListener("afterprint", back);
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setOption({ backgroundColor: "transparent", animation: false, ...option }, { notMerge: true });
  }, [option]);

  return <div ref={el} className="echart" style={{ height }} data-testid={testId} />;
}
