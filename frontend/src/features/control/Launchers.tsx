// Launchers for the conversion tools: flash sale (秒杀), lottery (福袋), coupon (满减券).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../../api/client";
import { Card, ErrorText, formatDuration, useNow } from "../../components/ui";
import { useI18n, type MessageKey } from "../../i18n";
import { activeFlashSale, useFlashSales, useLineup, type LineupRow } from "../../live/streamData";

function ProductSelect({ rows, value, onChange, allowAny, testId }: { rows: LineupRow[]; value: string; onChange: (v: string) => void; allowAny?: boolean; testId?: string }) {
  const { t } = useI18n();
  // Listed products first; a delisted or not-yet-listed one says so (a flash sale of it
  // would sell nothing until it is listed).
  const order = { listed: 0, pending: 1, delisted: 2 } as Record<string, number>;
  const sorted = [...rows].sort((a, b) => (order[a.status] ?? 1) - (order[b.status] ?? 1) || a.position - b.position);
  return (
    <select value={value} onChange={(e) => onChange(e.target.value)} required={!allowAny} data-testid={testId}>
      <option value="">{allowAny ? t("coupon.anyProduct") : t("common.choose")}</option>
      {sorted.map((r) => (
        <option key={r.product_id} value={r.product_id} data-status={r.status}>
          {r.position}. {r.name || `#${r.product_id}`}
          {r.status !== "listed" ? ` （${t(`listing.${r.status}` as MessageKey)}）` : ""}
        </option>
      ))}
    </select>
  );
}

export function Launchers({ streamId }: { streamId: number }) {
  const { t, money } = useI18n();
  const qc = useQueryClient();
  const lineup = useLineup(streamId);
  const rows = [...(lineup.data ?? [])].sort((a, b) => a.position - b.position);
  const sales = useFlashSales(streamId);
  const now = useNow(500);
  const running = activeFlashSale(sales.data, now);

  const [fs, setFs] = useState({ product: "", price: "", quantity: "50", limit: "1", duration: "120" });
  const flash = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/flash-sales", {
          params: { path: { stream_id: streamId } },
          body: {
            product_id: Number(fs.product),
            price: fs.price,
            quantity: Number(fs.quantity),
            per_user_limit: Number(fs.limit),
            duration_seconds: Number(fs.duration),
          },
        }),
      ),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["flash-sales", streamId] }),
  });

  const [lot, setLot] = useState<{ prize: string; winners: string; condition: Schemas["LotteryCondition"]; keyword: string; minutes: string }>({
    prize: "",
    winners: "3",
    condition: "comment",
    keyword: "",
    minutes: "5",
  });
  const lottery = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/lotteries", {
          params: { path: { stream_id: streamId } },
          body: {
            prize: lot.prize,
            winners_count: Number(lot.winners),
            condition: lot.condition,
            keyword: lot.condition === "comment" ? lot.keyword : null,
            draw_at: new Date(Date.now() + Number(lot.minutes) * 60_000).toISOString(),
          },
        }),
      ),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["lotteries", streamId] }),
  });

  const [cp, setCp] = useState({ title: "", product: "", amount: "10", threshold: "99", quantity: "100", minutes: "30" });
  const coupon = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/v1/streams/{stream_id}/coupons", {
          params: { path: { stream_id: streamId } },
          body: {
            title: cp.title,
            product_id: cp.product ? Number(cp.product) : null,
            amount: cp.amount,
            threshold: cp.threshold,
            quantity: Number(cp.quantity),
            per_user_limit: 1,
            valid_until: new Date(Date.now() + Number(cp.minutes) * 60_000).toISOString(),
          },
        }),
      ),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["coupons", streamId] }),
  });

  const submit = (m: { mutate: () => void }) => (e: FormEvent) => {
    e.preventDefault();
    m.mutate();
  };

  return (
    <Card title={t("control.launchers")} testId="launchers">
      {running && (
        <div className="alert-item" data-testid="flash-running">
          {t("flash.running", {
            name: rows.find((r) => r.product_id === running.product_id)?.name ?? `#${running.product_id}`,
            price: money(running.price),
            left: running.remaining ?? running.quantity,
          })}{" "}
          <strong>{running.ends_at ? formatDuration((Date.parse(running.ends_at) - now) / 1000) : ""}</strong>
        </div>
      )}
      <div className="launchers">
        <form className="launcher" onSubmit={submit(flash)} data-testid="launch-flash">
          <h3>⚡ {t("flash.title")}</h3>
          <ProductSelect rows={rows} value={fs.product} onChange={(v) => setFs({ ...fs, product: v })} testId="flash-product" />
          <div className="row">
            <input placeholder={t("flash.price")} value={fs.price} onChange={(e) => setFs({ ...fs, price: e.target.value })} inputMode="decimal" required size={11} />
            <input placeholder={t("flash.quantity")} value={fs.quantity} onChange={(e) => setFs({ ...fs, quantity: e.target.value })} inputMode="numeric" required size={9} title={t("flash.quantity")} />
          </div>
          <div className="row">
            <label className="inline">
              {t("flash.limit")}
              <input value={fs.limit} onChange={(e) => setFs({ ...fs, limit: e.target.value })} inputMode="numeric" size={3} />
            </label>
            <label className="inline">
              {t("flash.seconds")}
              <input value={fs.duration} onChange={(e) => setFs({ ...fs, duration: e.target.value })} inputMode="numeric" size={4} />
            </label>
          </div>
          <button className="primary" disabled={flash.isPending}>{t("flash.start")}</button>
          <ErrorText error={flash.error} />
          {flash.isSuccess && <span className="muted">{t("common.done")}</span>}
        </form>
        <form className="launcher" onSubmit={submit(lottery)} data-testid="launch-lottery">
          <h3>◆ {t("lottery.title")}</h3>
          <input placeholder={t("lottery.prize")} value={lot.prize} onChange={(e) => setLot({ ...lot, prize: e.target.value })} required />
          <div className="row">
            <label className="inline">
              {t("lottery.winners")}
              <input value={lot.winners} onChange={(e) => setLot({ ...lot, winners: e.target.value })} inputMode="numeric" size={3} />
            </label>
            <label className="inline">
              {t("lottery.drawIn")}
              <input value={lot.minutes} onChange={(e) => setLot({ ...lot, minutes: e.target.value })} inputMode="numeric" size={3} />
            </label>
          </div>
          <select value={lot.condition} onChange={(e) => setLot({ ...lot, condition: e.target.value as Schemas["LotteryCondition"] })}>
            <option value="comment">{t("lottery.cond.comment")}</option>
            <option value="follow">{t("lottery.cond.follow")}</option>
            <option value="present">{t("lottery.cond.present")}</option>
          </select>
          {lot.condition === "comment" && (
            <input placeholder={t("lottery.keyword")} value={lot.keyword} onChange={(e) => setLot({ ...lot, keyword: e.target.value })} required />
          )}
          <button className="primary" disabled={lottery.isPending}>{t("lottery.start")}</button>
          <ErrorText error={lottery.error} />
          {lottery.isSuccess && <span className="muted">{t("common.done")}</span>}
        </form>
        <form className="launcher" onSubmit={submit(coupon)} data-testid="launch-coupon">
          <h3>◆ {t("coupon.title")}</h3>
          <input placeholder={t("coupon.name")} value={cp.title} onChange={(e) => setCp({ ...cp, title: e.target.value })} />
          <ProductSelect rows={rows} value={cp.product} onChange={(v) => setCp({ ...cp, product: v })} allowAny />
          <div className="row">
            <label className="inline">
              {t("coupon.threshold")}
              <input value={cp.threshold} onChange={(e) => setCp({ ...cp, threshold: e.target.value })} inputMode="decimal" size={5} />
            </label>
            <label className="inline">
              {t("coupon.amount")}
              <input value={cp.amount} onChange={(e) => setCp({ ...cp, amount: e.target.value })} inputMode="decimal" size={4} />
            </label>
          </div>
          <div className="row">
            <label className="inline">
              {t("coupon.quantity")}
              <input value={cp.quantity} onChange={(e) => setCp({ ...cp, quantity: e.target.value })} inputMode="numeric" size={5} />
            </label>
            <label className="inline">
              {t("coupon.validMinutes")}
              <input value={cp.minutes} onChange={(e) => setCp({ ...cp, minutes: e.target.value })} inputMode="numeric" size={3} />
            </label>
          </div>
          <button className="primary" disabled={coupon.isPending}>{t("coupon.issue")}</button>
          <ErrorText error={coupon.error} />
          {coupon.isSuccess && <span className="muted">{t("common.done")}</span>}
        </form>
      </div>
      <Lotteries streamId={streamId} />
    </Card>
  );
}

/** Open lucky bags with "draw now" / cancel, and the last drawn ones with their result. */
function Lotteries({ streamId }: { streamId: number }) {
  const { t } = useI18n();
  const now = useNow(1000);
  const qc = useQueryClient();
  const list = useQuery({
    queryKey: ["lotteries", streamId],
    queryFn: () => unwrap(api.GET("/api/v1/streams/{stream_id}/lotteries", { params: { path: { stream_id: streamId } } })),
  });
  const act = useMutation({
    mutationFn: ({ id, what }: { id: number; what: "draw" | "cancel" }) => {
      const params = { path: { stream_id: streamId, lottery_id: id } };
      return unwrap(
        what === "draw"
          ? api.POST("/api/v1/streams/{stream_id}/lotteries/{lottery_id}/draw", { params })
          : api.POST("/api/v1/streams/{stream_id}/lotteries/{lottery_id}/cancel", { params }),
      );
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: ["lotteries", streamId] }),
  });
  const shown = (list.data ?? []).filter((l) => l.status === "open").concat((list.data ?? []).filter((l) => l.status === "drawn").slice(0, 2));
  if (shown.length === 0) return <ErrorText error={list.error} />;
  return (
    <div data-testid="lotteries" style={{ marginTop: 10 }}>
      <ErrorText error={list.error ?? act.error} />
      {shown.map((l) => (
        <div className="feed-item" key={l.id} data-testid={`lottery-${l.id}`}>
          <span className="text">
            ◆ {l.prize} · {t(`lottery.cond.${l.condition}`)}
            {l.keyword ? ` 「${l.keyword}」` : ""}
          </span>
          {l.status === "open" ? (
            <>
              <span className="muted small">{formatDuration((Date.parse(l.draw_at) - now) / 1000)}</span>
              <button className="small primary" data-testid="lottery-draw" disabled={act.isPending} onClick={() => act.mutate({ id: l.id, what: "draw" })}>
                {t("lottery.drawNow")}
              </button>
              <button className="small" disabled={act.isPending} onClick={() => act.mutate({ id: l.id, what: "cancel" })}>
                {t("lottery.cancel")}
              </button>
            </>
          ) : (
            <span className="muted small" data-testid="lottery-result">
              {t("lottery.drawnWinners", { n: l.winners.length, eligible: l.eligible_count ?? 0 })}
            </span>
          )}
        </div>
      ))}
    </div>
  );
}
