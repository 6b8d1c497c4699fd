// Thin routes: each page lives in its feature folder.
import { createBrowserRouter, Navigate } from "react-router";
import { AppLayout, RequireConsole, RequireLogin, StreamLayout } from "./components/layout";
import { GlobalWordsPage } from "./features/admin/GlobalWordsPage";
import { ConnectPage } from "./features/connect/ConnectPage";
import { ControlPage } from "./features/control/ControlPage";
import { LoginPage } from "./features/login/LoginPage";
import { PlanningPage } from "./features/planning/PlanningPage";
import { ReviewPage } from "./features/review/ReviewPage";
import { ServicePage } from "./features/service/ServicePage";
import { StreamHome } from "./features/streams/StreamHome";
import { StreamListPage } from "./features/streams/StreamListPage";
import { TeleprompterPage } from "./features/teleprompter/TeleprompterPage";
import { WatchPage } from "./features/watch/WatchPage";
// issue #12's pages
import { CampaignsPage, CampaignView } from "./features/campaigns/CampaignsPage";
import { CatalogPage } from "./features/catalog/CatalogPage";
import { MetricDictionaryPage } from "./features/catalog/MetricDictionary";
import { AccountPage } from "./features/people/AccountPage";
import { UsersPage } from "./features/people/UsersPage";
import { NewStreamPage } from "./features/settings/StreamSettings";
import { RequireRole } from "./features/common/RequireRole";

export const router = createBrowserRouter([
  { path: "/login", element: <LoginPage /> },
  { path: "/watch/:streamId", element: <WatchPage /> },
  // The teleprompter is full-screen: no app chrome around it.
  {
    path: "/streams/:streamId/teleprompter",
    element: (
      <RequireLogin>
        <RequireConsole console="teleprompter">
          <TeleprompterPage />
        </RequireConsole>
      </RequireLogin>
    ),
  },
  {
    element: (
      <RequireLogin>
        <AppLayout />
      </RequireLogin>
    ),
    children: [
      { path: "/", element: <StreamListPage /> },
      { path: "/admin/blocked-words", element: <GlobalWordsPage /> },
      // issue #12: people, catalog, campaigns, new stream
      { path: "/admin/users", element: <RequireRole roles={["admin"]}><UsersPage /></RequireRole> },
      { path: "/account", element: <AccountPage /> },
      { path: "/dictionary", element: <MetricDictionaryPage /> },
      { path: "/streams/new", element: <RequireRole roles={["admin", "controller"]}><NewStreamPage /></RequireRole> },
      { path: "/catalog/*", element: <RequireRole roles={["admin", "controller", "analyst"]}><CatalogPage /></RequireRole> },
      { path: "/campaigns", element: <RequireRole roles={["admin", "controller", "analyst"]}><CampaignsPage /></RequireRole> },
      { path: "/campaigns/:campaignId", element: <RequireRole roles={["admin", "controller", "analyst"]}><CampaignView /></RequireRole> },
      {
        path: "/streams/:streamId",
        element: <StreamLayout />,
        children: [
          { index: true, element: <StreamHome /> },
          { path: "plan/*", element: <RequireConsole console="plan"><PlanningPage /></RequireConsole> },
          { path: "control", element: <RequireConsole console="control"><ControlPage /></RequireConsole> },
          { path: "service", element: <RequireConsole console="service"><ServicePage /></RequireConsole> },
          { path: "review", element: <RequireConsole console="review"><ReviewPage /></RequireConsole> },
          // Connecting a platform (issue 18)
          { path: "connect", element: <RequireConsole console="connect"><ConnectPage /></RequireConsole> },
        ],
      },
      { path: "*", element: <Navigate to="/" replace /> },
    ],
  },
]);
