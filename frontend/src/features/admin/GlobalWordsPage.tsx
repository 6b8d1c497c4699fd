// The admins' global blocked words (全局屏蔽词): applied on every stream together with
// each stream's own words. Only admins see the link; the server refuses everyone else.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { useSession } from "../../auth/useAuth";
import { Card, ErrorText } from "../../components/ui";
import { useI18n } from "../../i18n";
import { AddWordsForm, WordChips } from "../shared/BlockedWords";

export function GlobalWordsPage() {
  const { t } = useI18n();
  const isAdmin = useSession()?.user.role === "admin";
  if (!isAdmin) {
    return (
      <div className="forbidden" data-testid="forbidden" role="alert">
        <h2>{t("common.forbiddenTitle")}</h2>
        <p>{t("globalWords.adminOnly")}</p>
      </div>
    );
  }
  return <GlobalWords />;
}

function GlobalWords() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const words = useQuery({ queryKey: ["blocked-words", "global"], queryFn: () => unwrap(api.GET("/api/v1/blocked-words")) });
  // A stream's list shows the global words too.
  const refresh = () => void qc.invalidateQueries({ queryKey: ["blocked-words"] });
  const remove = useMutation({
    mutationFn: (wordId: number) => unwrap(api.DELETE("/api/v1/blocked-words/{word_id}", { params: { path: { word_id: wordId } } })),
    onSettled: refresh,
  });
  const add = async (list: string[]) => {
    const added = await unwrap(api.POST("/api/v1/blocked-words", { body: { words: list } }));
    refresh();
    return added;
  };
  return (
    <div className="page" data-testid="global-words-page">
      <h1>{t("globalWords.title")}</h1>
      <Card title={t("moderation.words")} testId="global-words">
        <div className="col">
          <p className="muted small">{t("globalWords.hint")}</p>
          <ErrorText error={words.error ?? remove.error} />
          {words.data && <WordChips words={words.data} canRemove={() => true} onRemove={(w) => remove.mutate(w.id)} removing={remove.isPending} markGlobal={false} testId="global-word-list" />}
          <AddWordsForm add={add} testId="add-global-words" />
        </div>
      </Card>
    </div>
  );
}
