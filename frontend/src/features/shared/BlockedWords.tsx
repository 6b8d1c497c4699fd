// Blocked words (屏蔽词): the chips that list them and the form that adds several at once.
// Used by the control console (a stream's words, the global ones shown beside them) and
// the admins' page for the global list.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { Schemas } from "../../api/client";
import { ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";

export type Word = Schemas["WordOut"];

/** Words typed or pasted as a list: commas (either width), 、, semicolons or new lines
 * separate them; blanks and repeats are dropped. Spaces stay (「加 微」 is one word). */
export function splitWords(text: string): string[] {
  const seen = new Set<string>();
  for (const w of text.split(/[\n\r,，、;；]+/)) {
    const word = w.trim();
    if (word) seen.add(word);
  }
  return [...seen];
}

export function WordChips({
  words,
  canRemove,
  onRemove,
  removing,
  markGlobal = true,
  testId,
}: {
  words: Word[];
  /** Badge the global words (off where every word is global). */
  markGlobal?: boolean;
  canRemove: (w: Word) => boolean;
  onRemove: (w: Word) => void;
  removing?: boolean;
  testId: string;
}) {
  const { t } = useI18n();
  if (words.length === 0) return <span className="muted" data-testid={`${testId}-empty`}>{t("moderation.noWords")}</span>;
  return (
    <div className="word-chips" data-testid={testId}>
      {words.map((w) => {
        const global = w.stream_id === null;
        return (
          <span key={w.id} className={`word-chip${global ? " global" : ""}`} data-testid="word-chip" data-word={w.word} data-global={global}>
            {w.word}
            {global && markGlobal && <span className="badge">{t("moderation.global")}</span>}
            {canRemove(w) && (
              <button
                type="button"
                className="chip-remove"
                onClick={() => onRemove(w)}
                disabled={removing}
                title={t("moderation.remove")}
                aria-label={`${t("moderation.remove")} ${w.word}`}
                data-testid="word-remove"
              >
                ×
              </button>
            )}
          </span>
        );
      })}
    </div>
  );
}

/** Adds the words typed (several at once); says how many were new. */
export function AddWordsForm({ add, testId }: { add: (words: string[]) => Promise<Word[]>; testId: string }) {
  const { t } = useI18n();
  const [text, setText] = useState("");
  const [result, setResult] = useState<string | null>(null);
  const mutation = useMutation({
    mutationFn: (words: string[]) => add(words).then((added) => ({ added, asked: words.length })),
    onSuccess: ({ added, asked }) => {
      setText("");
      const skipped = asked - added.length;
      setResult(skipped > 0 ? t("moderation.addedSkipped", { n: added.length, m: skipped }) : t("moderation.added", { n: added.length }));
    },
    onError: () => setResult(null),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setResult(null);
    // Sent as typed, even when nothing is left after splitting: the server says why not.
    const words = splitWords(text);
    mutation.mutate(words.length > 0 ? words : [text]);
  };
  return (
    <form className="col" onSubmit={submit} data-testid={testId}>
      <div className="row">
        <textarea
          rows={2}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={t("moderation.addPlaceholder")}
          style={{ flex: 1, minWidth: 220, resize: "vertical" }}
          data-testid={`${testId}-input`}
        />
        <button className="primary" disabled={mutation.isPending || !text.trim()} data-testid={`${testId}-submit`}>
          {t("moderation.addWords")}
        </button>
      </div>
      {result && (
        <span className="muted small" role="status" data-testid={`${testId}-result`}>
          {result}
        </span>
      )}
      <ErrorText error={mutation.error} />
    </form>
  );
}
